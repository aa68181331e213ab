#pragma once
// Draws an experiment's result: its curves or grouped bars in one plot, or one
// of its heatmaps (domains x experts, expert x expert) in another.
#include <QStackedWidget>

#include "analysis/experiment_result.h"

class HeatmapPlot;
class QCustomPlot;

class ExperimentPlot : public QStackedWidget {
  Q_OBJECT

 public:
  explicit ExperimentPlot(QWidget* parent = nullptr);

  void showCurves(const moescope::CurveFigure& figure, const std::vector<std::string>& models);
  void showHeatmap(const moescope::HeatmapFigure& heatmap);
  // No result: an empty plot that says `message` ("Press Run…", "Cancelled.").
  void clear(const QString& message);
  QString emptyMessage() const;

  QCustomPlot* curvePlot() const { return curves_; }
  HeatmapPlot* heatmapPlot() const { return heatmap_; }

 private:
  void labelBars();  // writes each bar's value above it (a handful of bars only)

  QCustomPlot* curves_;
  HeatmapPlot* heatmap_;
};
