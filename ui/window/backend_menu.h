#pragma once
// Tools ▸ Compute backend: automatic, CPU or CUDA, remembered between runs.
// Choosing another reloads the open model on it (the load keeps the previous
// backend working if the new one cannot be made).
#include <QMenu>

class QActionGroup;

class BackendMenu : public QMenu {
  Q_OBJECT

 public:
  explicit BackendMenu(QWidget* parent = nullptr);
  QString choice() const;  // "auto", "cpu" or "cuda": the CLI's --backend spellings

 signals:
  void chosen(const QString& choice);

 private:
  QActionGroup* group_;
};

// The status bar's backend text: the backend's name, and why when it was not
// asked for by name ("CPU (2 threads) · no CUDA device").
QString backendStatusText(const QString& name, const QString& reason);
