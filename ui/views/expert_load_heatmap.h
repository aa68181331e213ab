#pragma once
// Layers x routed experts: how the run's tokens spread over the experts, live
// as tokens arrive. Counts are accumulated per appended batch with
// moescope::expert_load, so a long run costs O(batch) per update.
#include <QVector>
#include <QWidget>
#include <vector>

#include "export/table_export.h"
#include "run/routing_stats.h"

class QComboBox;
class QCustomPlot;
class HeatmapPlot;
class RoutingDocument;

class ExpertLoadHeatmap : public QWidget {
  Q_OBJECT

 public:
  enum class Mode { counts, gateShare, balance };

  explicit ExpertLoadHeatmap(RoutingDocument* document, QWidget* parent = nullptr);

  void setMode(Mode mode);
  void setFilter(moescope::TokenFilter filter);
  QCustomPlot* plot() const;

  // [MoE layers][routed experts] as drawn: counts; the expert's share of the
  // layer's summed gate weight; or count / (tokens * k / n), 1 = perfect balance.
  QVector<QVector<double>> cellValues() const { return values_; }
  CsvTable table() const;

 private:
  void rebuild();
  void addTokens(int first, int count);
  void redraw();
  Mode mode() const;
  moescope::TokenFilter filter() const;
  QString cellTooltip(int expert, int row) const;

  RoutingDocument* document_;
  QComboBox* modeBox_;
  QComboBox* filterBox_;
  HeatmapPlot* plot_;
  QVector<int> layers_;                    // [rows] MoE layer of each row
  std::vector<moescope::LayerLoad> load_;  // [rows] accumulated under filter()
  QVector<QVector<double>> values_;        // [rows][experts]
};
