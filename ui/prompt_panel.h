#pragma once
// The prompt and the sampling settings, with Generate / Stop and the
// "Compare with experts off" button. Emits requests; the window runs them.
#include <QWidget>

#include "sampling.h"

class QDoubleSpinBox;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

class PromptPanel : public QWidget {
  Q_OBJECT

 public:
  explicit PromptPanel(QWidget* parent = nullptr);

  QString prompt() const;
  void setPrompt(const QString& text);
  moescope::SamplingSettings samplingSettings() const;
  void setSamplingSettings(const moescope::SamplingSettings& settings);
  // Busy: Stop is the only live button. Ready: a model is loaded to run.
  void setState(bool ready, bool busy);

 signals:
  void generateRequested();
  void compareRequested();
  void stopRequested();

 private:
  QPlainTextEdit* promptEdit_;
  QPushButton* generateButton_;
  QPushButton* compareButton_;
  QPushButton* stopButton_;
  QDoubleSpinBox* temperatureSpin_;
  QDoubleSpinBox* topPSpin_;
  QSpinBox* seedSpin_;
  QSpinBox* maxTokensSpin_;
};
