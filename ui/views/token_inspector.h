#pragma once
// The selected token's routing, one bar row per MoE layer on one shared,
// labelled scale: every routed expert's selection score in grey, the chosen
// top-k in their expert colours with the gate weight written on them, the
// shared experts as a labelled bar with their weight (outlined when off),
// switched-off experts crossed in red, and where a switch changed the choice
// which experts the token lost and which took their place (a note above the
// plot). A legend above says what height and number mean. For DeepSeek-V3's gate the bars show
// either the router's scores or what its top-k ranks, score + balancing bias.
#include <QVector>
#include <QWidget>

class QComboBox;
class QCPAxisRect;
class QCPBars;
class QCustomPlot;
class QLabel;
struct CsvTable;
namespace moescope {
struct LayerRouting;
struct TokenRouting;
}  // namespace moescope
class RoutingDocument;

class TokenInspector : public QWidget {
  Q_OBJECT

 public:
  explicit TokenInspector(RoutingDocument* document, QWidget* parent = nullptr);

  int shownToken() const { return shownToken_; }  // -1 when none
  QVector<int> shownLayers() const;               // the layers whose rows hold data
  QCustomPlot* plot() const { return plot_; }
  CsvTable table() const;  // the shown token's scores, layers x experts, for export

  // What the rows show, for tests: every row's value axis runs to scaleTop(),
  // whose tick labels read in selection-score units.
  double scaleTop() const { return scaleTop_; }
  double scaleBottom() const { return scaleBottom_; }  // below 0 only for score + bias
  QString legendText() const;
  // V3 models: bar height is score + bias (true) or the router's score (false).
  void setShowSelectionScores(bool on);
  bool offersSelectionScores() const;
  QString changeNote(int layer) const;             // "lost e38 · in its place e12"; empty if none
  QVector<int> switchedOffMarks(int layer) const;  // experts drawn as switched off
  QString sharedLabel(int layer) const;  // "shared · weight 1", "shared off"; empty if none

 protected:
  void changeEvent(QEvent* event) override;

 private:
  struct Row {
    int layer = 0;
    QCPAxisRect* rect = nullptr;
    QCPBars* scores = nullptr;  // [n_routed] all selection scores
    QCPBars* shared = nullptr;  // [n_shared] full-height "always on" bars
    QCPBars* off = nullptr;     // the switched-off experts, crossed in red
    QString changeNote;
    QString sharedLabel;
    QVector<QCPBars*> chosen;  // one per rank, each holding the chosen expert's bar
    bool filled = false;
  };

  void rebuildRows();
  void updateLegend();
  bool showsSelectionScores() const;
  double barValue(const moescope::LayerRouting& layer, int expert) const;
  void updateScale(const moescope::TokenRouting* routing);
  void showToken(int index);
  void fillRow(Row& row, int index);
  // A vertical label reading upward from `foot` (value-axis units) at `key`.
  void labelBar(Row& row, double key, double foot, const QString& text, const QColor& colour,
                Qt::Alignment side);
  const Row* findRow(int layer) const;
  QCPBars* chosenBars(Row& row, int rank);

  RoutingDocument* document_;
  QLabel* header_;
  QLabel* legend_;
  QLabel* choiceNote_;  // which experts a switch took from the token, per layer
  QComboBox* barsBox_;
  QCustomPlot* plot_;
  QVector<Row> rows_;
  int shownToken_ = -1;
  double scaleTop_ = 1.0;
  double scaleBottom_ = 0.0;
};
