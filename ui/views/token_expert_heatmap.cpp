#include "views/token_expert_heatmap.h"

#include <QComboBox>
#include <QLabel>
#include <QLayout>
#include <QScrollBar>
#include <QSignalBlocker>

#include "document/plot_title.h"
#include "document/routing_document.h"
#include "document/token_format.h"
#include "export/plot_export.h"
#include "plots/heatmap_plot.h"

namespace {
// What the empty plot says instead of drawing a grid of nothing.
const char* const noTokensMessage = "No tokens yet: press Generate or open a snapshot";
}  // namespace

TokenExpertHeatmap::TokenExpertHeatmap(RoutingDocument* document, QWidget* parent)
    : QWidget(parent), document_(document) {
  valueBox_ = new QComboBox(this);
  valueBox_->addItems({tr("Gate weight (chosen)"), tr("Selection score (all)")});
  spanBox_ = new QComboBox(this);
  spanBox_->setObjectName(QStringLiteral("tokenSpanBox"));
  for (int span : {0, 25, 50, 100, 200})
    spanBox_->addItem(span == 0 ? tr("All tokens") : tr("%1 tokens").arg(span), span);
  scroll_ = new QScrollBar(Qt::Horizontal, this);
  scroll_->setObjectName(QStringLiteral("tokenScroll"));
  scroll_->hide();
  layerBox_ = new QComboBox(this);
  layerBox_->setObjectName(QStringLiteral("tokenExpertLayerBox"));
  layerBox_->setToolTip(tr("The MoE layer shown here, apart from the one colouring the text"));
  plot_ = new HeatmapPlot(this);
  plot_->xAxis->setLabel(tr("token"));
  plot_->yAxis->setLabel(tr("routed expert"));
  plot_->setCellTooltip([this](int key, int value) { return cellTooltip(key, value); });
  plot_->setCellAxis(plot_->yAxis);
  selection_ = new QCPItemRect(plot_);
  selection_->setBrush(Qt::NoBrush);
  // Token labels are thinned to what the plot's width holds, at every replot.
  connect(plot_, &QCustomPlot::beforeReplot, this, &TokenExpertHeatmap::labelTokens);

  plot_->installIn(
      this, {layerBox_, valueBox_, spanBox_}, [this] { return table(); },
      [this] {
        return PlotTitle::of(
            document_->snapshot(),
            tr("token × expert · layer %1 · %2").arg(layer_).arg(valueBox_->currentText()));
      });
  layout()->addWidget(scroll_);  // below the plot, shown only when zoomed in
  connect(spanBox_, &QComboBox::currentIndexChanged, this, [this] {
    updateAxes();
    showSelected();
    plot_->replot(QCustomPlot::rpQueuedReplot);
  });
  connect(scroll_, &QScrollBar::valueChanged, this, [this] {
    updateAxes();
    plot_->replot(QCustomPlot::rpQueuedReplot);
  });

  connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
    int token = 0, expert = 0;
    if (event->button() == Qt::LeftButton &&
        plot_->cellAt(event->position().toPoint(), &token, &expert) &&
        token < document_->tokenCount())
      document_->setSelectedToken(token);
  });
  connect(valueBox_, &QComboBox::currentIndexChanged, this, &TokenExpertHeatmap::rebuild);
  connect(layerBox_, &QComboBox::currentIndexChanged, this, [this] {
    layer_ = layerBox_->currentData().isValid() ? layerBox_->currentData().toInt() : -1;
    rebuild();
  });
  connect(document_, &RoutingDocument::documentReset, this, &TokenExpertHeatmap::refillLayers);
  connect(document_, &RoutingDocument::tokensAppended, this, &TokenExpertHeatmap::addTokens);
  connect(document_, &RoutingDocument::selectedTokenChanged, this, [this] {
    updateSelection();
    showSelected();
    plot_->replot(QCustomPlot::rpQueuedReplot);
  });
  refillLayers();
}

void TokenExpertHeatmap::setValue(Value value) {
  valueBox_->setCurrentIndex(int(value));
}

void TokenExpertHeatmap::setLayer(int layer) {
  const int index = layerBox_->findData(layer);
  if (index >= 0) layerBox_->setCurrentIndex(index);
}

void TokenExpertHeatmap::refillLayers() {
  // The layer shown stays if the new document has it, else its first MoE layer.
  const int kept = layer_;
  {
    const QSignalBlocker quiet(layerBox_);
    layerBox_->clear();
    for (int layer : document_->moeLayers()) layerBox_->addItem(tr("Layer %1").arg(layer), layer);
    const int index = layerBox_->findData(kept);
    layerBox_->setCurrentIndex(index >= 0 ? index : 0);
  }
  layer_ = layerBox_->currentData().isValid() ? layerBox_->currentData().toInt() : -1;
  rebuild();
}
QCustomPlot* TokenExpertHeatmap::plot() const {
  return plot_;
}

double TokenExpertHeatmap::value(int token, int expert) const {
  const auto* layer = TokenFormat::findLayer(document_->snapshot().tokens[token].routing, layer_);
  if (!layer) return 0;
  const auto shown = Value(valueBox_->currentIndex());
  // A run that selected without the bias has no selection scores: its scores ranked.
  const auto& scores = shown == Value::selectionScore && !layer->selection_scores.empty()
                           ? layer->selection_scores
                           : layer->scores;
  if (shown != Value::gateWeight) return expert < int(scores.size()) ? scores[expert] : 0;
  for (std::size_t j = 0; j < layer->expert_ids.size(); ++j)
    if (layer->expert_ids[j] == expert)
      return j < layer->gate_weights.size() ? layer->gate_weights[j] : 1.0;  // ids only: chosen
  return 0;
}

void TokenExpertHeatmap::offerSelectionScores() {
  const bool biased = document_->config().topk_method == moescope::TopkMethod::noaux_tc;
  if (biased == (valueBox_->count() > int(Value::selectionScore))) return;
  const QSignalBlocker quiet(valueBox_);
  if (biased)
    valueBox_->addItem(tr("Score + bias (what V3 ranks)"));
  else
    valueBox_->removeItem(int(Value::selectionScore));
}

void TokenExpertHeatmap::rebuild() {
  offerSelectionScores();
  capacity_ = 0;
  minimum_ = 0;
  maximum_ = 0;
  const bool empty = document_->isEmpty() || layer_ < 0;
  layerBox_->setVisible(!empty);
  plot_->setEmptyMessage(empty ? tr(noTokensMessage) : QString());
  addTokens(0, document_->tokenCount());
}

void TokenExpertHeatmap::addTokens(int first, int count) {
  if (count > 0 && layer_ >= 0 && !plot_->emptyMessage().isEmpty())
    return rebuild();  // the first tokens of a run replace the empty message
  const int experts = document_->config().n_routed_experts;
  const int tokens = first + count;
  const bool followEnd = scroll_->value() == scroll_->maximum();
  if (tokens > capacity_) {  // grow by doubling and refill: amortised O(batch)
    capacity_ = std::max({64, 2 * capacity_, tokens});
    plot_->resizeCells(capacity_, experts);
    first = 0;
  }
  for (int t = first; t < tokens; ++t)
    for (int e = 0; e < experts; ++e) {
      const double v = value(t, e);
      minimum_ = std::min(minimum_, v);
      maximum_ = std::max(maximum_, v);
      plot_->colorMap()->data()->setCell(t, e, v);
    }
  plot_->colorMap()->setDataRange(QCPRange(minimum_, maximum_ > minimum_ ? maximum_ : 1));
  const auto shown = Value(valueBox_->currentIndex());
  plot_->setScaleLabel(shown == Value::gateWeight ? tr("gate weight")
                       : shown == Value::score    ? tr("score")
                                                  : tr("score + bias"));
  updateAxes();
  if (followEnd) scroll_->setValue(scroll_->maximum());  // a streaming run stays in view
  updateSelection();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TokenExpertHeatmap::setShownTokens(int tokens) {
  const int index = spanBox_->findData(tokens);
  if (index >= 0) {
    spanBox_->setCurrentIndex(index);
    return;
  }
  spanBox_->addItem(tr("%1 tokens").arg(tokens), tokens);
  spanBox_->setCurrentIndex(spanBox_->count() - 1);
}

int TokenExpertHeatmap::shownSpan() const {
  const int tokens = document_->tokenCount();
  const int window = spanBox_->currentData().toInt();
  return window > 0 ? std::min(window, tokens) : tokens;
}

QPair<int, int> TokenExpertHeatmap::shownRange() const {
  const int first = scroll_->isHidden() ? 0 : scroll_->value();
  return {first, first + std::max(1, shownSpan()) - 1};
}

void TokenExpertHeatmap::showSelected() {
  const int token = document_->selectedToken();
  const auto [first, last] = shownRange();
  if (token < 0 || scroll_->isHidden() || (token >= first && token <= last)) return;
  scroll_->setValue(token - shownSpan() / 2);  // clamped to the bar's range
}

void TokenExpertHeatmap::updateAxes() {
  const int tokens = document_->tokenCount();
  const int span = shownSpan();
  {
    const QSignalBlocker blocker(scroll_);  // this is what valueChanged would call
    scroll_->setRange(0, std::max(0, tokens - span));
    scroll_->setPageStep(std::max(1, span));
    scroll_->setSingleStep(std::max(1, span / 10));
  }
  scroll_->setHidden(scroll_->maximum() == 0);
  const int first = scroll_->isHidden() ? 0 : scroll_->value();
  plot_->xAxis->setRange(first - 0.5, first + std::max(1, span) - 0.5);
  plot_->yAxis->setRange(-0.5, document_->config().n_routed_experts - 0.5);
}

void TokenExpertHeatmap::labelTokens() {
  // Every step-th token by its text, however long the run: a rotated label
  // needs about 1.6 line heights of width.
  const auto [first, last] = shownRange();
  const int shown = std::min(last, document_->tokenCount() - 1) - first + 1;
  const int room = int(QFontMetrics(plot_->xAxis->tickLabelFont()).height() * 1.6);
  const int step = HeatmapPlot::labelStep(shown, plot_->axisRect()->width(), room);
  auto labels = QSharedPointer<QCPAxisTickerText>::create();
  for (int t = first - first % step; t <= first + shown - 1; t += step)
    labels->addTick(t, TokenFormat::chipText(document_->snapshot().tokens[t]));
  plot_->xAxis->setTicker(labels);
  plot_->xAxis->setTickLabelRotation(-60);
}

void TokenExpertHeatmap::updateSelection() {
  const int token = document_->selectedToken();
  selection_->setVisible(token >= 0);
  selection_->setPen(QPen(palette().color(QPalette::Highlight), 3));
  selection_->topLeft->setCoords(token - 0.5, document_->config().n_routed_experts - 0.5);
  selection_->bottomRight->setCoords(token + 0.5, -0.5);
}

QVector<QVector<double>> TokenExpertHeatmap::cellValues() const {
  const int experts = document_->config().n_routed_experts;
  QVector<QVector<double>> values(document_->tokenCount(), QVector<double>(experts));
  for (int t = 0; t < values.size(); ++t)
    for (int e = 0; e < experts; ++e) values[t][e] = plot_->colorMap()->data()->cell(t, e);
  return values;
}

CsvTable TokenExpertHeatmap::table() const {
  QStringList kinds;
  for (const auto& token : document_->snapshot().tokens)
    kinds << TokenFormat::kindName(TokenFormat::kindOf(token));
  return TableExport::tokenExpertTable(valueBox_->currentText(), layer_,
                                       document_->snapshot().tokens, kinds, cellValues());
}

QString TokenExpertHeatmap::cellTooltip(int token, int expert) const {
  if (token >= document_->tokenCount()) return {};
  return tr("token %1 \"%2\", expert %3: %4")
      .arg(token)
      .arg(TokenFormat::chipText(document_->snapshot().tokens[token]))
      .arg(expert)
      .arg(value(token, expert), 0, 'f', 3);
}
