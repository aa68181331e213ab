#include "views/expert_load_heatmap.h"

#include <QComboBox>
#include <QLabel>
#include <numeric>

#include "document/plot_title.h"
#include "document/routing_document.h"
#include "export/plot_export.h"
#include "plots/expert_palette.h"
#include "plots/heatmap_plot.h"

using moescope::TokenFilter;

ExpertLoadHeatmap::ExpertLoadHeatmap(RoutingDocument* document, QWidget* parent)
    : QWidget(parent), document_(document) {
  modeBox_ = new QComboBox(this);
  modeBox_->addItems({tr("Token counts"), tr("Gate-weighted share"), tr("Load vs. balance")});
  filterBox_ = new QComboBox(this);
  filterBox_->addItems({tr("All tokens"), tr("Prompt"), tr("Generated")});
  plot_ = new HeatmapPlot(this);
  plot_->xAxis->setLabel(tr("routed expert"));
  plot_->yAxis->setLabel(tr("MoE layer"));
  plot_->setCellTooltip([this](int key, int value) { return cellTooltip(key, value); });
  plot_->setCellAxis(plot_->xAxis);

  plot_->installIn(
      this, {new QLabel(tr("Show"), this), modeBox_, filterBox_}, [this] { return table(); },
      [this] {
        return PlotTitle::of(document_->snapshot(),
                             tr("expert load, every MoE layer · %1 · %2")
                                 .arg(modeBox_->currentText(), filterBox_->currentText()));
      });

  connect(modeBox_, &QComboBox::currentIndexChanged, this, &ExpertLoadHeatmap::redraw);
  connect(filterBox_, &QComboBox::currentIndexChanged, this, &ExpertLoadHeatmap::rebuild);
  connect(document_, &RoutingDocument::documentReset, this, &ExpertLoadHeatmap::rebuild);
  connect(document_, &RoutingDocument::tokensAppended, this, &ExpertLoadHeatmap::addTokens);
  rebuild();
}

void ExpertLoadHeatmap::setMode(Mode mode) {
  modeBox_->setCurrentIndex(int(mode));
}
void ExpertLoadHeatmap::setFilter(TokenFilter filter) {
  filterBox_->setCurrentIndex(int(filter));
}
QCustomPlot* ExpertLoadHeatmap::plot() const {
  return plot_;
}
ExpertLoadHeatmap::Mode ExpertLoadHeatmap::mode() const {
  return Mode(modeBox_->currentIndex());
}
TokenFilter ExpertLoadHeatmap::filter() const {
  return TokenFilter(filterBox_->currentIndex());
}

void ExpertLoadHeatmap::rebuild() {
  const int experts = document_->config().n_routed_experts;
  layers_.clear();
  load_.clear();
  for (int layer : document_->moeLayers()) {
    layers_ << layer;
    moescope::LayerLoad load;
    load.layer = layer;
    load.counts.assign(experts, 0);
    load.gate_weight.assign(experts, 0.0);
    load_.push_back(std::move(load));
  }
  plot_->resizeCells(experts, int(layers_.size()));
  plot_->setEmptyMessage(layers_.isEmpty()
                             ? tr("No run yet: the load of each expert appears as tokens arrive")
                             : QString());
  auto rows = QSharedPointer<QCPAxisTickerText>::create();
  for (int row = 0; row < layers_.size(); ++row) rows->addTick(row, QString::number(layers_[row]));
  plot_->yAxis->setTicker(rows);
  plot_->xAxis->setRange(-0.5, experts - 0.5);
  plot_->yAxis->setRange(-0.5, layers_.size() - 0.5);
  addTokens(0, document_->tokenCount());
}

void ExpertLoadHeatmap::addTokens(int first, int count) {
  const auto& tokens = document_->snapshot().tokens;
  std::vector<moescope::TokenRouting> batch;
  batch.reserve(count);
  for (int i = first; i < first + count; ++i) batch.push_back(tokens[i].routing);
  const int experts = document_->config().n_routed_experts;
  for (const auto& add : moescope::expert_load(batch, experts, filter())) {
    const int row = int(layers_.indexOf(add.layer));
    if (row < 0) continue;  // a trace layer the config does not route: ignore it
    moescope::LayerLoad& load = load_[row];
    load.tokens += add.tokens;
    load.mask_changed += add.mask_changed;
    for (int e = 0; e < experts; ++e) {
      load.counts[e] += add.counts[e];
      load.gate_weight[e] += add.gate_weight[e];
    }
  }
  redraw();
}

void ExpertLoadHeatmap::redraw() {
  const int experts = document_->config().n_routed_experts;
  values_ = QVector<QVector<double>>(layers_.size(), QVector<double>(experts, 0.0));
  double maximum = 0;
  for (int row = 0; row < layers_.size(); ++row) {
    const moescope::LayerLoad& load = load_[row];
    double gateTotal = 0;
    for (double weight : load.gate_weight) gateTotal += weight;
    // The fair share of the choices actually made, so a run with k overridden
    // is measured against its own k, not the model's.
    const double choices = std::accumulate(load.counts.begin(), load.counts.end(), 0.0);
    const double balanced = choices / std::max(1, experts);
    for (int e = 0; e < experts; ++e) {
      double value = load.counts[e];
      if (mode() == Mode::gateShare) value = gateTotal > 0 ? load.gate_weight[e] / gateTotal : 0;
      if (mode() == Mode::balance) value = balanced > 0 ? load.counts[e] / balanced : 0;
      values_[row][e] = value;
      maximum = std::max(maximum, value);
      plot_->colorMap()->data()->setCell(e, row, value);
    }
  }
  static const char* const titles[] = {"tokens", "share of gate weight", "load / balanced"};
  plot_->setScaleLabel(tr(titles[int(mode())]));
  if (mode() == Mode::balance) {
    // 1 is the fair share: centred, with room above it for the busiest expert.
    const double upper = std::max(2.0, maximum);
    plot_->colorScale()->setGradient(ExpertPalette::balanceGradient(upper));
    plot_->colorMap()->setDataRange(QCPRange(0, upper));
  } else {
    plot_->colorScale()->setGradient(ExpertPalette::heatGradient());
    plot_->colorMap()->setDataRange(QCPRange(0, maximum > 0 ? maximum : 1));
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString ExpertLoadHeatmap::cellTooltip(int expert, int row) const {
  if (row >= values_.size() || expert >= values_[row].size()) return {};
  const moescope::LayerLoad& load = load_[row];
  return tr("layer %1, expert %2: %3\n%4 of %5 tokens")
      .arg(layers_[row])
      .arg(expert)
      .arg(values_[row][expert], 0, 'g', 4)
      .arg(load.counts[expert])
      .arg(load.tokens);
}

CsvTable ExpertLoadHeatmap::table() const {
  return TableExport::layerExpertTable(
      QStringLiteral("%1 (%2)").arg(modeBox_->currentText(), filterBox_->currentText()), layers_,
      values_);
}
