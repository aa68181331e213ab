#include "plots/heatmap_plot.h"

#include <QHBoxLayout>
#include <QToolTip>
#include <QVBoxLayout>
#include <cmath>

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
  connect(this, &QCustomPlot::beforeReplot, this, [this] {
    colorScale_->setMargins(QMargins());
    fitAxesToSize();
  });
  connect(this, &QCustomPlot::afterLayout, this, &HeatmapPlot::fitScaleLabel);
  emptyText_ = new QCPItemText(this);
  emptyText_->position->setType(QCPItemPosition::ptAxisRectRatio);
  emptyText_->position->setCoords(0.5, 0.5);
  emptyText_->setVisible(false);
  emptyText_->setColor(palette().color(QPalette::WindowText));
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

void HeatmapPlot::setEmptyMessage(const QString& message) {
  const bool empty = !message.isEmpty();
  emptyMessage_ = message;
  emptyText_->setText(message);
  emptyText_->setVisible(empty);
  colorMap_->setVisible(!empty);
  colorScale_->setVisible(!empty);
  for (QCPAxis* axis : {xAxis, yAxis}) {
    axis->setTicks(!empty);
    axis->setTickLabels(!empty);
  }
  replot(rpQueuedReplot);
}

QString HeatmapPlot::emptyMessage() const {
  return emptyText_->visible() ? emptyMessage_ : QString();
}

QString HeatmapPlot::shownEmptyText() const {
  return emptyText_->text();
}

void HeatmapPlot::wrapEmptyMessage() {
  // Broken into lines as wide as the plot, so a narrow dock shows all of it.
  const QFontMetrics metrics(emptyText_->font());
  const int width = std::max(60, axisRect()->width() - 32);
  QStringList lines;
  for (const QString& word : emptyMessage_.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
    const QString joined = lines.isEmpty() ? word : lines.last() + QLatin1Char(' ') + word;
    if (!lines.isEmpty() && metrics.horizontalAdvance(joined) <= width)
      lines.last() = joined;
    else
      lines << word;
  }
  emptyText_->setText(lines.join(QLatin1Char('\n')));
}

void HeatmapPlot::setScaleLabel(const QString& label) {
  scaleLabel_ = label;
  colorScale_->axis()->setLabel(label);
}

void HeatmapPlot::setCellAxis(QCPAxis* axis) {
  if (!cellAxes_.contains(axis)) cellAxes_ << axis;
  axis->setTicker(QSharedPointer<QCPAxisTickerFixed>::create());
}

int HeatmapPlot::labelStep(int count, int pixels, int labelPixels) {
  int step = 1;
  while (step < count && (pixels / double(count)) * step < labelPixels) step *= 2;
  return step;
}

void HeatmapPlot::fitAxesToSize() {
  if (emptyText_->visible()) wrapEmptyMessage();
  for (QCPAxis* axis : cellAxes_) {
    auto ticker = axis->ticker().dynamicCast<QCPAxisTickerFixed>();
    if (!ticker) continue;
    const int count = int(std::ceil(axis->range().size()));
    const QFontMetrics metrics(axis->tickLabelFont());
    // Side by side (x), numbers need their width; stacked (y), their height.
    const int label = axis->orientation() == Qt::Horizontal
                          ? metrics.horizontalAdvance(QString::number(count)) + metrics.height() / 2
                          : metrics.height();
    const int pixels =
        axis->orientation() == Qt::Horizontal ? axisRect()->width() : axisRect()->height();
    ticker->setTickStep(labelStep(count, std::max(1, pixels), label));
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssNone);
  }
}

void HeatmapPlot::fitScaleLabel() {
  if (scaleLabel_.isEmpty()) return;
  // After the layout, before drawing: the bar's length is known, and the
  // title (centred on the bar) gets exactly that.
  const QFontMetrics metrics(colorScale_->axis()->labelFont());
  const int room = colorScale_->rect().height();
  colorScale_->axis()->setLabel(room > 0 ? metrics.elidedText(scaleLabel_, Qt::ElideRight, room)
                                         : scaleLabel_);
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
    emptyText_->setColor(palette().color(QPalette::WindowText));
    replot(rpQueuedReplot);
  }
  if (event->type() == QEvent::FontChange) {
    setProjectionFonts(this);
    replot(rpQueuedReplot);
  }
}

void setProjectionFonts(QCustomPlot* plot) {
  QFont ticks = plot->font();  // 12 pt with the classroom look, more when zoomed
  ticks.setPointSizeF(std::max(ticks.pointSizeF(), 10.0));
  QFont labels = ticks;
  labels.setPointSizeF(ticks.pointSizeF() + 1);
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
  for (int i = 0; i < plot->itemCount(); ++i)
    if (auto* text = qobject_cast<QCPItemText*>(plot->item(i))) text->setFont(labels);
}

void HeatmapPlot::installIn(QWidget* panel, const QList<QWidget*>& controls,
                            std::function<CsvTable()> table, std::function<QString()> title) {
  auto* row = new QHBoxLayout;
  for (QWidget* control : controls) row->addWidget(control);
  row->addStretch();
  auto* layout = new QVBoxLayout(panel);
  layout->addLayout(row);
  layout->addWidget(this, 1);

  new ExportActions(this, std::move(table), panel, std::move(title));
}
