#include "views/token_expert_heatmap.h"

#include <QComboBox>
#include <QLabel>

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
  title_ = new QLabel(this);
  plot_ = new HeatmapPlot(this);
  plot_->xAxis->setLabel(tr("token"));
  plot_->yAxis->setLabel(tr("routed expert"));
  plot_->setCellTooltip([this](int key, int value) { return cellTooltip(key, value); });
  plot_->setCellAxis(plot_->yAxis);
  selection_ = new QCPItemRect(plot_);
  selection_->setBrush(Qt::NoBrush);
  // Token labels are thinned to what the plot's width holds, at every replot.
  connect(plot_, &QCustomPlot::beforeReplot, this, &TokenExpertHeatmap::labelTokens);

  plot_->installIn(this, {title_, valueBox_}, [this] { return table(); });

  connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
    int token = 0, expert = 0;
    if (event->button() == Qt::LeftButton &&
        plot_->cellAt(event->position().toPoint(), &token, &expert) &&
        token < document_->tokenCount())
      document_->setSelectedToken(token);
  });
  connect(valueBox_, &QComboBox::currentIndexChanged, this, &TokenExpertHeatmap::rebuild);
  connect(document_, &RoutingDocument::documentReset, this, &TokenExpertHeatmap::rebuild);
  connect(document_, &RoutingDocument::focusLayerChanged, this, &TokenExpertHeatmap::rebuild);
  connect(document_, &RoutingDocument::tokensAppended, this, &TokenExpertHeatmap::addTokens);
  connect(document_, &RoutingDocument::selectedTokenChanged, this, [this] {
    updateSelection();
    plot_->replot(QCustomPlot::rpQueuedReplot);
  });
  rebuild();
}

void TokenExpertHeatmap::setValue(Value value) {
  valueBox_->setCurrentIndex(int(value));
}
QCustomPlot* TokenExpertHeatmap::plot() const {
  return plot_;
}

double TokenExpertHeatmap::value(int token, int expert) const {
  const auto* layer =
      TokenFormat::findLayer(document_->snapshot().tokens[token].routing, document_->focusLayer());
  if (!layer) return 0;
  if (Value(valueBox_->currentIndex()) == Value::score)
    return expert < int(layer->scores.size()) ? layer->scores[expert] : 0;
  for (std::size_t j = 0; j < layer->expert_ids.size(); ++j)
    if (layer->expert_ids[j] == expert) return layer->gate_weights[j];
  return 0;
}

void TokenExpertHeatmap::rebuild() {
  capacity_ = 0;
  maximum_ = 0;
  const bool empty = document_->isEmpty() || document_->focusLayer() < 0;
  title_->setText(empty ? QString() : tr("Layer %1").arg(document_->focusLayer()));
  title_->setVisible(!empty);
  plot_->setEmptyMessage(empty ? tr(noTokensMessage) : QString());
  addTokens(0, document_->tokenCount());
}

void TokenExpertHeatmap::addTokens(int first, int count) {
  if (count > 0 && document_->focusLayer() >= 0 && !plot_->emptyMessage().isEmpty())
    return rebuild();  // the first tokens of a run replace the empty message
  const int experts = document_->config().n_routed_experts;
  const int tokens = first + count;
  if (tokens > capacity_) {  // grow by doubling and refill: amortised O(batch)
    capacity_ = std::max({64, 2 * capacity_, tokens});
    plot_->resizeCells(capacity_, experts);
    first = 0;
  }
  for (int t = first; t < tokens; ++t)
    for (int e = 0; e < experts; ++e) {
      const double v = value(t, e);
      maximum_ = std::max(maximum_, v);
      plot_->colorMap()->data()->setCell(t, e, v);
    }
  plot_->colorMap()->setDataRange(QCPRange(0, maximum_ > 0 ? maximum_ : 1));
  plot_->setScaleLabel(Value(valueBox_->currentIndex()) == Value::score ? tr("score")
                                                                        : tr("gate weight"));
  updateAxes();
  updateSelection();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TokenExpertHeatmap::updateAxes() {
  const int tokens = document_->tokenCount();
  plot_->xAxis->setRange(-0.5, std::max(1, tokens) - 0.5);
  plot_->yAxis->setRange(-0.5, document_->config().n_routed_experts - 0.5);
}

void TokenExpertHeatmap::labelTokens() {
  // Every step-th token by its text, however long the run: a rotated label
  // needs about 1.6 line heights of width.
  const int tokens = document_->tokenCount();
  const int room = int(QFontMetrics(plot_->xAxis->tickLabelFont()).height() * 1.6);
  const int step = HeatmapPlot::labelStep(tokens, plot_->axisRect()->width(), room);
  auto labels = QSharedPointer<QCPAxisTickerText>::create();
  for (int t = 0; t < tokens; t += step)
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
  return TableExport::tokenExpertTable(document_->snapshot().tokens, cellValues());
}

QString TokenExpertHeatmap::cellTooltip(int token, int expert) const {
  if (token >= document_->tokenCount()) return {};
  return tr("token %1 \"%2\", expert %3: %4")
      .arg(token)
      .arg(TokenFormat::chipText(document_->snapshot().tokens[token]))
      .arg(expert)
      .arg(value(token, expert), 0, 'f', 3);
}
