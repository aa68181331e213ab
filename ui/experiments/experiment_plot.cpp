#include "experiments/experiment_plot.h"

#include <algorithm>
#include <cmath>

#include "plots/expert_palette.h"
#include "plots/heatmap_plot.h"

using namespace moescope;

namespace {

// One colour per compared model, the same in every experiment's legend.
QColor modelColor(int index) {
  static const QColor colors[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xe6, 0x7e, 0x22),
                                  QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28)};
  return colors[index % 4];
}

int modelIndexOf(const Curve& curve, const std::vector<std::string>& models) {
  for (std::size_t i = 0; i < models.size(); ++i)
    if (curve.name.rfind(models[i], 0) == 0) return static_cast<int>(i);
  return 0;
}

QSharedPointer<QCPAxisTickerText> textTicker(const std::vector<std::string>& labels,
                                             int every = 1) {
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (std::size_t i = 0; i < labels.size(); i += every)
    ticker->addTick(double(i), QString::fromStdString(labels[i]));
  return ticker;
}

}  // namespace

ExperimentPlot::ExperimentPlot(QWidget* parent)
    : QStackedWidget(parent), curves_(new QCustomPlot(this)), heatmap_(new HeatmapPlot(this)) {
  // The legend sits below the plot, two entries a row, clear of every curve and bar.
  curves_->axisRect()->insetLayout()->take(curves_->legend);
  curves_->plotLayout()->addElement(1, 0, curves_->legend);
  curves_->plotLayout()->setRowStretchFactor(1, 0.001);
  curves_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  curves_->legend->setWrap(2);
  curves_->legend->setBorderPen(Qt::NoPen);
  curves_->legend->setVisible(true);
  setProjectionFonts(curves_);
  ExpertPalette::applyPlotPalette(curves_, curves_->palette());
  addWidget(curves_);
  addWidget(heatmap_);
  // The stack would otherwise take the small size hint of an empty plot.
  setMinimumSize(480, 360);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void ExperimentPlot::clear(const QString& message) {
  curves_->clearPlottables();
  curves_->clearItems();
  curves_->replot(QCustomPlot::rpQueuedReplot);
  heatmap_->resizeCells(1, 1);
  heatmap_->setEmptyMessage(message);
  setCurrentWidget(heatmap_);
}

QString ExperimentPlot::emptyMessage() const {
  return currentWidget() == heatmap_ ? heatmap_->emptyMessage() : QString();
}

void ExperimentPlot::showCurves(const CurveFigure& figure, const std::vector<std::string>& models) {
  setCurrentWidget(curves_);
  curves_->clearPlottables();
  curves_->clearItems();
  const bool bars = figure.style == CurveFigure::Style::bars;
  const int barSeries = static_cast<int>(std::count_if(
      figure.curves.begin(), figure.curves.end(), [](const Curve& c) { return !c.reference; }));
  const double barWidth = 0.8 / std::max(1, barSeries);
  int barIndex = 0;
  double lowest = 1e300, highest = -1e300;
  for (const Curve& c : figure.curves) {
    const QColor color = modelColor(modelIndexOf(c, models));
    const QVector<double> x(c.x.begin(), c.x.end()), y(c.y.begin(), c.y.end());
    for (double v : c.y) lowest = std::min(lowest, v), highest = std::max(highest, v);
    if (bars && !c.reference) {
      // Side by side around each category: series i of n shifted by whole bar widths.
      const double shift = (barIndex++ - (barSeries - 1) / 2.0) * barWidth;
      QVector<double> shifted = x;
      for (double& key : shifted) key += shift;
      auto* series = new QCPBars(curves_->xAxis, curves_->yAxis);
      series->setName(QString::fromStdString(c.name));
      series->setData(shifted, y, true);
      series->setWidth(barWidth * 0.95);
      series->setPen(Qt::NoPen);
      series->setBrush(color);
      continue;
    }
    auto* graph = curves_->addGraph();
    graph->setName(QString::fromStdString(c.name));
    graph->setData(x, y, true);
    QPen pen(color, c.reference ? 1.5 : 2.5);
    if (c.reference) pen.setStyle(Qt::DashLine);
    // A second curve of the same model (locality's first-or-second) gets a dotted line.
    else if (c.name.find("or second") != std::string::npos)
      pen.setStyle(Qt::DotLine);
    graph->setPen(pen);
    if (!c.reference)
      graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, color, color, 8));
  }
  curves_->xAxis->setLabel(QString::fromStdString(figure.x_label));
  curves_->yAxis->setLabel(QString::fromStdString(figure.y_label));
  if (!figure.x_ticks.empty()) {
    curves_->xAxis->setTicker(textTicker(figure.x_ticks));
    curves_->xAxis->setTickLabelRotation(figure.x_ticks.size() > 6 ? 60 : 0);
  } else {
    // Whole-number axes (k, layers) get whole-number ticks, never "2.5".
    const bool whole = std::all_of(figure.curves.begin(), figure.curves.end(), [](const Curve& c) {
      return std::all_of(c.x.begin(), c.x.end(), [](double x) { return x == std::round(x); });
    });
    auto ticker =
        whole ? QSharedPointer<QCPAxisTickerFixed>::create() : QSharedPointer<QCPAxisTickerFixed>();
    if (ticker) {
      ticker->setTickStep(1.0);
      ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
      curves_->xAxis->setTicker(ticker);
    } else {
      curves_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    }
    curves_->xAxis->setTickLabelRotation(0);
  }
  curves_->rescaleAxes();
  const double pad = bars ? 0.6 : 0.05 * (curves_->xAxis->range().size() + 1e-9);
  curves_->xAxis->setRange(curves_->xAxis->range().lower - pad,
                           curves_->xAxis->range().upper + pad);
  if (highest >= lowest) {
    // Zoom on the spread, where the differences are; bars of values that are
    // not clustered far from zero (shares) keep their zero baseline.
    const double spread = std::max(highest - lowest, 1e-3 * std::abs(highest));
    const bool fromZero = bars && lowest < 0.5 * highest;
    curves_->yAxis->setRange(fromZero ? 0.0 : lowest - (bars ? 0.6 : 0.08) * spread,
                             fromZero ? 1.08 * highest : highest + (bars ? 0.25 : 0.08) * spread);
  }
  if (bars) labelBars();
  curves_->legend->setVisible(figure.curves.size() > 1);
  curves_->replot(QCustomPlot::rpQueuedReplot);
}

void ExperimentPlot::labelBars() {
  // A few bars get their value written on top; many would only overlap.
  int count = 0;
  for (int i = 0; i < curves_->plottableCount(); ++i)
    if (auto* b = qobject_cast<QCPBars*>(curves_->plottable(i))) count += b->data()->size();
  if (count > 12) return;
  for (int i = 0; i < curves_->plottableCount(); ++i) {
    auto* bars = qobject_cast<QCPBars*>(curves_->plottable(i));
    if (!bars) continue;
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) {
      auto* label = new QCPItemText(curves_);
      label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
      label->position->setCoords(it->key, it->value);
      label->setText(QString::number(it->value, 'f', 3));
      label->setColor(palette().color(QPalette::WindowText));
      QFont font = curves_->font();
      font.setPointSize(12);
      label->setFont(font);
    }
  }
}

void ExperimentPlot::showHeatmap(const HeatmapFigure& h) {
  setCurrentWidget(heatmap_);
  heatmap_->setEmptyMessage({});
  const int columns = static_cast<int>(h.column_labels.size());
  const int rows = static_cast<int>(h.row_labels.size());
  heatmap_->resizeCells(columns, rows);
  double highest = h.neutral;
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < columns; ++c) {
      const double v = h.values[static_cast<std::size_t>(r) * columns + c];
      heatmap_->colorMap()->data()->setCell(c, r, v);
      highest = std::max(highest, v);
    }
  heatmap_->colorMap()->setDataRange(QCPRange(0, highest > 0 ? highest : 1));
  heatmap_->setScaleLabel(QString::fromStdString(h.value_label));
  heatmap_->xAxis->setLabel(QString::fromStdString(h.title + " — " + h.x_label));
  heatmap_->yAxis->setLabel(QString::fromStdString(h.y_label));
  heatmap_->xAxis->setTicker(textTicker(h.column_labels, columns > 32 ? 4 : 1));
  heatmap_->yAxis->setTicker(textTicker(h.row_labels));
  heatmap_->setCellTooltip([h, columns](int key, int value) {
    return QStringLiteral("%1 %2, %3 %4\n%5: %6")
        .arg(QString::fromStdString(h.y_label), QString::fromStdString(h.row_labels[value]),
             QString::fromStdString(h.x_label), QString::fromStdString(h.column_labels[key]),
             QString::fromStdString(h.value_label))
        .arg(h.values[static_cast<std::size_t>(value) * columns + key], 0, 'f', 3);
  });
  heatmap_->xAxis->setRange(-0.5, columns - 0.5);
  heatmap_->yAxis->setRange(-0.5, rows - 0.5);
  heatmap_->yAxis->setRangeReversed(true);  // first row on top, as in a table
  heatmap_->replot(QCustomPlot::rpQueuedReplot);
}
