#include "plots/heatmap_plot.h"

#include <QHBoxLayout>
#include <QToolTip>
#include <QVBoxLayout>

#include "export/plot_export.h"
#include "plots/expert_palette.h"

HeatmapPlot::HeatmapPlot(QWidget* parent) : QCustomPlot(parent) {
  colorMap_ = new QCPColorMap(xAxis, yAxis);
  colorMap_->setInterpolate(false);
  colorMap_->setTightBoundary(false);
  colorScale_ = new QCPColorScale(this);
  plotLayout()->addElement(0, 1, colorScale_);
  colorMap_->setColorScale(colorScale_);  // the map takes the scale's gradient from here on
  colorScale_->setGradient(ExpertPalette::heatGradient());
  auto* margins = new QCPMarginGroup(this);  // keeps the scale as tall as the map
  axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  colorScale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  // The scale offers its current margins to the group, so the shared margin
  // could only grow (a stale gap after long token labels); reset it each replot.
  connect(this, &QCustomPlot::beforeReplot, this, [this] { colorScale_->setMargins(QMargins()); });
  xAxis->grid()->setVisible(false);
  yAxis->grid()->setVisible(false);
  setProjectionFonts(this);
  ExpertPalette::applyPlotPalette(this, palette());
  setMouseTracking(true);
}

void HeatmapPlot::setCellTooltip(std::function<QString(int, int)> tooltip) {
  tooltip_ = std::move(tooltip);
}

bool HeatmapPlot::cellAt(const QPoint& position, int* key, int* value) const {
  if (!axisRect()->rect().contains(position)) return false;
  const QCPColorMapData* data = colorMap_->data();
  data->coordToCell(xAxis->pixelToCoord(position.x()), yAxis->pixelToCoord(position.y()), key,
                    value);
  return *key >= 0 && *key < data->keySize() && *value >= 0 && *value < data->valueSize();
}

void HeatmapPlot::resizeCells(int keys, int values) {
  colorMap_->data()->setSize(keys, values);
  colorMap_->data()->setRange(QCPRange(0, std::max(1, keys - 1)),
                              QCPRange(0, std::max(1, values - 1)));
  colorMap_->data()->fill(0);
}

void HeatmapPlot::mouseMoveEvent(QMouseEvent* event) {
  QCustomPlot::mouseMoveEvent(event);
  int key = 0, value = 0;
  const QString text = tooltip_ && cellAt(event->position().toPoint(), &key, &value)
                           ? tooltip_(key, value)
                           : QString();
  if (text.isEmpty())
    QToolTip::hideText();
  else
    QToolTip::showText(event->globalPosition().toPoint(), text, this);
}

void HeatmapPlot::changeEvent(QEvent* event) {
  QCustomPlot::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    ExpertPalette::applyPlotPalette(this, palette());
    replot(rpQueuedReplot);
  }
}

void setProjectionFonts(QCustomPlot* plot) {
  QFont ticks = plot->font();
  ticks.setPointSize(12);
  QFont labels = ticks;
  labels.setPointSize(13);
  for (QCPAxisRect* rect : plot->axisRects())
    for (QCPAxis* axis : rect->axes()) {
      axis->setTickLabelFont(ticks);
      axis->setLabelFont(labels);
    }
  for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
    if (auto* scale = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i))) {
      scale->axis()->setTickLabelFont(ticks);
      scale->axis()->setLabelFont(labels);
    }
}

void HeatmapPlot::installIn(QWidget* panel, const QList<QWidget*>& controls,
                            std::function<CsvTable()> table) {
  auto* row = new QHBoxLayout;
  for (QWidget* control : controls) row->addWidget(control);
  row->addStretch();
  auto* layout = new QVBoxLayout(panel);
  layout->addLayout(row);
  layout->addWidget(this, 1);

  new ExportActions(this, std::move(table), panel);
}
