#include "views/token_inspector.h"

#include <qcustomplot.h>

#include <QLabel>
#include <QScrollArea>
#include <QVBoxLayout>

#include "document/routing_document.h"
#include "document/token_format.h"
#include "export/plot_export.h"
#include "export/table_export.h"
#include "plots/expert_palette.h"
#include "plots/heatmap_plot.h"

namespace {
constexpr int rowHeight = 170;    // pixels per layer row, room for the vertical labels
constexpr double barShare = 0.4;  // bars use the lower 40% of a row, labels the rest

// Vertical labels are about three experts wide at 64 experts: of two chosen
// experts that close, the lower id's label goes left of its bar and the
// higher one's right, so neighbours do not cover each other.
Qt::Alignment labelSide(const std::vector<int>& chosen, int expert, int experts) {
  const int near = std::max(1, experts / 20);
  bool lowerNeighbour = false, higherNeighbour = false;
  for (int other : chosen) {
    lowerNeighbour |= other < expert && expert - other <= near;
    higherNeighbour |= other > expert && other - expert <= near;
  }
  if (higherNeighbour && !lowerNeighbour) return Qt::AlignBottom;  // rotated: left of the bar
  if (lowerNeighbour && !higherNeighbour) return Qt::AlignTop;     // rotated: right of the bar
  return Qt::AlignVCenter;
}
}  // namespace

TokenInspector::TokenInspector(RoutingDocument* document, QWidget* parent)
    : QWidget(parent), document_(document) {
  header_ = new QLabel(this);
  QFont large = header_->font();
  large.setPointSize(14);
  header_->setFont(large);
  header_->setTextFormat(Qt::PlainText);
  plot_ = new QCustomPlot;
  plot_->plotLayout()->clear();
  plot_->plotLayout()->setRowSpacing(0);
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(plot_);
  scroll->setWidgetResizable(true);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(header_);
  layout->addWidget(scroll, 1);

  new ExportActions(
      plot_, [this] { return table(); }, this);

  connect(document_, &RoutingDocument::documentReset, this, &TokenInspector::rebuildRows);
  connect(document_, &RoutingDocument::selectedTokenChanged, this, &TokenInspector::showToken);
  rebuildRows();
}

void TokenInspector::rebuildRows() {
  plot_->clearPlottables();
  plot_->clearItems();
  plot_->plotLayout()->clear();
  rows_.clear();
  const auto& config = document_->config();
  const int experts = config.n_routed_experts;
  const int shared = config.n_shared_experts;
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (int e = 0; e < experts; e += experts <= 16 ? 1 : 8) ticker->addTick(e, QString::number(e));
  if (shared > 0) ticker->addTick(experts + 0.5 + shared / 2.0, tr("shared"));
  for (int layer : document_->moeLayers()) {
    Row row;
    row.layer = layer;
    row.rect = new QCPAxisRect(plot_);
    plot_->plotLayout()->addElement(int(rows_.size()), 0, row.rect);
    QCPAxis* x = row.rect->axis(QCPAxis::atBottom);
    QCPAxis* y = row.rect->axis(QCPAxis::atLeft);
    x->setTicker(ticker);
    x->setRange(-1, experts + shared + (shared > 0 ? 2.5 : 0.5));
    x->grid()->setVisible(false);
    y->setLabel(tr("L%1").arg(layer));
    y->setTickLabels(false);
    y->setTicks(false);
    row.rect->setMinimumMargins(QMargins(70, 4, 10, 4));
    row.scores = new QCPBars(x, y);
    row.scores->setWidth(0.8);
    row.scores->setPen(Qt::NoPen);
    row.scores->setBrush(QColor(128, 128, 128, 150));
    row.shared = new QCPBars(x, y);
    row.shared->setWidth(0.8);
    rows_ << row;
  }
  plot_->setMinimumHeight(int(rows_.size()) * rowHeight);
  setProjectionFonts(plot_);
  ExpertPalette::applyPlotPalette(plot_, palette());
  showToken(document_->selectedToken());
}

QCPBars* TokenInspector::chosenBars(Row& row, int rank) {
  while (row.chosen.size() <= rank) {
    auto* bars = new QCPBars(row.scores->keyAxis(), row.scores->valueAxis());
    bars->setWidth(0.9);
    row.chosen << bars;
  }
  return row.chosen[rank];
}

void TokenInspector::showToken(int index) {
  shownToken_ = index >= 0 && index < document_->tokenCount() ? index : -1;
  plot_->clearItems();
  if (shownToken_ < 0) {
    header_->setText(tr("Select a token to inspect its routing."));
  } else {
    const auto& token = document_->snapshot().tokens[shownToken_];
    header_->setText(tr("Token \"%1\" · id %2 · position %3 · %4")
                         .arg(TokenFormat::displayText(token.text))
                         .arg(token.routing.token_id)
                         .arg(token.routing.position)
                         .arg(token.routing.is_prompt ? tr("prompt") : tr("generated")));
  }
  for (Row& row : rows_) fillRow(row, shownToken_);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TokenInspector::fillRow(Row& row, int index) {
  const auto* routing =
      index >= 0 ? TokenFormat::findLayer(document_->snapshot().tokens[index].routing, row.layer)
                 : nullptr;
  row.filled = routing != nullptr;
  row.scores->data()->clear();
  row.shared->data()->clear();
  for (QCPBars* bars : row.chosen) bars->data()->clear();
  if (!routing) return;

  const int experts = int(routing->scores.size());
  double top = 1e-6;
  for (int e = 0; e < experts; ++e) {
    row.scores->addData(e, routing->scores[e]);
    top = std::max(top, double(routing->scores[e]));
  }
  QCPAxis* y = row.scores->valueAxis();
  y->setRange(0, top / barShare);

  const QColor text = palette().color(QPalette::WindowText);
  for (int s = 0; s < document_->config().n_shared_experts; ++s)
    row.shared->addData(experts + 1 + s, top);
  row.shared->setPen(QPen(text, 1.5, routing->shared_active ? Qt::SolidLine : Qt::DashLine));
  row.shared->setBrush(routing->shared_active ? QBrush(text, Qt::Dense4Pattern) : Qt::NoBrush);

  for (int rank = 0; rank < int(routing->expert_ids.size()); ++rank) {
    const int expert = routing->expert_ids[rank];
    const QColor colour = ExpertPalette::expertColor(expert);
    QCPBars* bars = chosenBars(row, rank);
    bars->setBrush(colour);
    bars->setPen(QPen(text, 1));
    bars->addData(expert, routing->scores[expert]);
    // Bars are a few pixels wide, so the label stands vertically above its bar.
    auto* label = new QCPItemText(plot_);
    label->setClipAxisRect(row.rect);
    label->position->setAxes(row.scores->keyAxis(), y);
    label->position->setCoords(expert, routing->scores[expert] + top * 0.04);
    label->setPositionAlignment(Qt::AlignLeft | labelSide(routing->expert_ids, expert, experts));
    label->setRotation(-90);
    label->setText(QStringLiteral("e%1 %2").arg(expert).arg(
        TokenFormat::weightText(routing->gate_weights[rank])));
    label->setBrush(colour);
    label->setColor(ExpertPalette::textColorOn(colour));
    label->setPadding(QMargins(2, 0, 2, 0));
  }

  // The shared experts' state goes beside the layer name, clear of the bar labels.
  const bool hasShared = document_->config().n_shared_experts > 0;
  y->setLabel(
      hasShared
          ? tr("L%1 · shared %2").arg(row.layer).arg(routing->shared_active ? tr("on") : tr("off"))
          : tr("L%1").arg(row.layer));
  if (routing->mask_changed) {
    auto* note = new QCPItemText(plot_);
    note->setClipAxisRect(row.rect);
    note->position->setType(QCPItemPosition::ptAxisRectRatio);
    note->position->setAxisRect(row.rect);
    note->position->setCoords(0.99, 0.05);
    note->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
    note->setText(tr("⚠ mask changed this choice"));
    note->setBrush(QColor(255, 170, 0));
    note->setColor(Qt::black);
  }
}

CsvTable TokenInspector::table() const {
  // The shown token's selection scores, one row per MoE layer.
  QVector<int> layers;
  QVector<QVector<double>> scores;
  if (shownToken_ >= 0)
    for (const auto& layer : document_->snapshot().tokens[shownToken_].routing.layers) {
      layers << layer.layer;
      scores << QVector<double>(layer.scores.begin(), layer.scores.end());
    }
  return TableExport::layerExpertTable(layers, scores);
}

QVector<int> TokenInspector::shownLayers() const {
  QVector<int> layers;
  for (const Row& row : rows_)
    if (row.filled) layers << row.layer;
  return layers;
}

void TokenInspector::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::PaletteChange) {
    ExpertPalette::applyPlotPalette(plot_, palette());
    showToken(shownToken_);
  }
}
