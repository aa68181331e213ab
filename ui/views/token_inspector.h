#pragma once
// The selected token's routing, one bar row per MoE layer: every routed
// expert's selection score in grey, the chosen top-k in their expert colours
// with the gate weight written on them, the shared experts as always-on bars
// (outlined when disabled) and a mark where a mask changed the choice.
#include <QVector>
#include <QWidget>

class QCPAxisRect;
class QCPBars;
class QCustomPlot;
class QLabel;
struct CsvTable;
class RoutingDocument;

class TokenInspector : public QWidget {
  Q_OBJECT

 public:
  explicit TokenInspector(RoutingDocument* document, QWidget* parent = nullptr);

  int shownToken() const { return shownToken_; }  // -1 when none
  QVector<int> shownLayers() const;               // the layers whose rows hold data
  QCustomPlot* plot() const { return plot_; }
  CsvTable table() const;  // the shown token's scores, layers x experts, for export

 protected:
  void changeEvent(QEvent* event) override;

 private:
  struct Row {
    int layer = 0;
    QCPAxisRect* rect = nullptr;
    QCPBars* scores = nullptr;  // [n_routed] all selection scores
    QCPBars* shared = nullptr;  // [n_shared] constant-height "always on" bars
    QVector<QCPBars*> chosen;   // one per rank, each holding the chosen expert's bar
    bool filled = false;
  };

  void rebuildRows();
  void showToken(int index);
  void fillRow(Row& row, int index);
  QCPBars* chosenBars(Row& row, int rank);

  RoutingDocument* document_;
  QLabel* header_;
  QCustomPlot* plot_;
  QVector<Row> rows_;
  int shownToken_ = -1;
};
