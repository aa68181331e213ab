#include "views/token_expert_heatmap.h"

#include <QComboBox>
#include <QLabel>
#include <QLayout>
#include <QScrollBar>

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

  plot_->installIn(
      this, {title_, valueBox_, spanBox_}, [this] { return table(); },
      [this] {
        return PlotTitle::of(document_->snapshot(), tr("token × expert · layer %1 · %2")
                                                        .arg(document_->focusLayer())
                                                        .arg(valueBox_->currentText()));
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
  connect(document_, &RoutingDocument::documentReset, this, &TokenExpertHeatmap::rebuild);
  connect(document_, &RoutingDocument::focusLayerChanged, this, &TokenExpertHeatmap::rebuild);
  connect(document_, &RoutingDocument::tokensAppended, this, &TokenExpertHeatmap::addTokens);
  connect(document_, &RoutingDocument::selectedTokenChanged, this, [this] {
    updateSelection();
    showSelected();
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
    if (layer->expert_ids[j] == expert)
      return j < layer->gate_weights.size() ? layer->gate_weights[j] : 1.0;  // ids only: chosen
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
  const bool followEnd = scroll_->value() == scroll_->maximum();
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
  return TableExport::tokenExpertTable(valueBox_->currentText(), document_->focusLayer(),
                                       document_->snapshot().tokens, cellValues());
}

QString TokenExpertHeatmap::cellTooltip(int token, int expert) const {
  if (token >= document_->tokenCount()) return {};
  return tr("token %1 \"%2\", expert %3: %4")
      .arg(token)
      .arg(TokenFormat::chipText(document_->snapshot().tokens[token]))
      .arg(expert)
      .arg(value(token, expert), 0, 'f', 3);
}
