#include "views/token_expert_heatmap.h"

#include <QComboBox>
#include <QLabel>

#include "document/routing_document.h"
#include "document/token_format.h"
#include "export/plot_export.h"
#include "plots/heatmap_plot.h"

namespace {
constexpr int maxLabelledTokens = 48;  // beyond this, token labels would overlap
}

TokenExpertHeatmap::TokenExpertHeatmap(RoutingDocument* document, QWidget* parent)
    : QWidget(parent), document_(document) {
  valueBox_ = new QComboBox(this);
  valueBox_->addItems({tr("Gate weight (chosen)"), tr("Selection score (all)")});
  title_ = new QLabel(this);
  plot_ = new HeatmapPlot(this);
  plot_->xAxis->setLabel(tr("token"));
  plot_->yAxis->setLabel(tr("routed expert"));
  plot_->setCellTooltip([this](int key, int value) { return cellTooltip(key, value); });
  selection_ = new QCPItemRect(plot_);
  selection_->setBrush(Qt::NoBrush);

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
  title_->setText(tr("Layer %1").arg(document_->focusLayer()));
  addTokens(0, document_->tokenCount());
}

void TokenExpertHeatmap::addTokens(int first, int count) {
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
  plot_->colorScale()->axis()->setLabel(valueBox_->currentText());
  updateAxes();
  updateSelection();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TokenExpertHeatmap::updateAxes() {
  const int tokens = document_->tokenCount();
  const int experts = document_->config().n_routed_experts;
  if (tokens <= maxLabelledTokens) {
    auto labels = QSharedPointer<QCPAxisTickerText>::create();
    for (int t = 0; t < tokens; ++t)
      labels->addTick(t, TokenFormat::displayText(document_->snapshot().tokens[t].text));
    plot_->xAxis->setTicker(labels);
    plot_->xAxis->setTickLabelRotation(-60);
  } else if (plot_->xAxis->ticker().dynamicCast<QCPAxisTickerText>()) {
    plot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());  // token indices
    plot_->xAxis->setTickLabelRotation(0);
  }
  auto rows = QSharedPointer<QCPAxisTickerFixed>::create();
  rows->setTickStep(experts <= 16 ? 1 : 8);
  plot_->yAxis->setTicker(rows);
  plot_->xAxis->setRange(-0.5, std::max(1, tokens) - 0.5);
  plot_->yAxis->setRange(-0.5, experts - 0.5);
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
      .arg(TokenFormat::displayText(document_->snapshot().tokens[token].text))
      .arg(expert)
      .arg(value(token, expert), 0, 'f', 3);
}
