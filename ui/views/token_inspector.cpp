#include "views/token_inspector.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QLabel>
#include <QScrollArea>
#include <QStringList>
#include <QVBoxLayout>
#include <cmath>

#include "document/choice_change.h"
#include "document/plot_title.h"
#include "document/routing_document.h"
#include "document/token_format.h"
#include "export/plot_export.h"
#include "export/table_export.h"
#include "plots/expert_palette.h"
#include "plots/heatmap_plot.h"

namespace {
constexpr int rowHeight = 170;    // pixels per layer row, room for the vertical labels
constexpr double barShare = 0.4;  // bars use the lower 40% of a row, labels the rest
const QColor offColour(0xd0, 0x10, 0x10);

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

QString expertList(const std::vector<int>& experts) {
  QStringList names;
  for (int e : experts) names << QStringLiteral("e%1").arg(e);
  return names.join(QStringLiteral(", "));
}
}  // namespace

TokenInspector::TokenInspector(RoutingDocument* document, QWidget* parent)
    : QWidget(parent), document_(document) {
  header_ = new QLabel(this);
  QFont large = header_->font();
  large.setPointSize(14);
  header_->setFont(large);
  header_->setTextFormat(Qt::PlainText);
  legend_ = new QLabel(this);
  legend_->setObjectName(QStringLiteral("inspectorLegend"));
  legend_->setWordWrap(true);
  barsBox_ = new QComboBox(this);
  barsBox_->setObjectName(QStringLiteral("inspectorBars"));
  barsBox_->addItems({tr("Bars: router score"), tr("Bars: score + bias (what V3 ranks)")});
  barsBox_->setCurrentIndex(1);
  choiceNote_ = new QLabel(this);
  choiceNote_->setObjectName(QStringLiteral("inspectorChoiceNote"));
  choiceNote_->setWordWrap(true);
  choiceNote_->setStyleSheet(
      QStringLiteral("background: #ffaa00; color: black; padding: 2px 4px; border-radius: 3px;"));
  choiceNote_->hide();
  plot_ = new QCustomPlot;
  plot_->plotLayout()->clear();
  plot_->plotLayout()->setRowSpacing(0);
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(plot_);
  scroll->setWidgetResizable(true);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(header_);
  layout->addWidget(legend_);
  layout->addWidget(barsBox_, 0, Qt::AlignLeft);  // its own row: the legend keeps the width
  layout->addWidget(choiceNote_);
  layout->addWidget(scroll, 1);

  new ExportActions(
      plot_, [this] { return table(); }, this,
      [this] {
        if (shownToken_ < 0) return PlotTitle::of(document_->snapshot(), tr("token inspector"));
        const auto& token = document_->snapshot().tokens[shownToken_];
        return PlotTitle::of(document_->snapshot(),
                             tr("token \"%1\" (position %2) · every MoE layer · bar height: "
                                "selection score, label: gate weight")
                                 .arg(TokenFormat::chipText(token))
                                 .arg(token.routing.position));
      });

  connect(barsBox_, &QComboBox::currentIndexChanged, this, [this] {
    updateLegend();
    showToken(shownToken_);
  });
  connect(document_, &RoutingDocument::documentReset, this, &TokenInspector::rebuildRows);
  connect(document_, &RoutingDocument::selectedTokenChanged, this, &TokenInspector::showToken);
  rebuildRows();
}

bool TokenInspector::offersSelectionScores() const {
  return document_->config().topk_method == moescope::TopkMethod::noaux_tc;
}

void TokenInspector::setShowSelectionScores(bool on) {
  barsBox_->setCurrentIndex(on ? 1 : 0);
}

bool TokenInspector::showsSelectionScores() const {
  return offersSelectionScores() && barsBox_->currentIndex() == 1;
}

double TokenInspector::barValue(const moescope::LayerRouting& layer, int expert) const {
  // A run that selected without the bias has no selection scores: its scores ranked.
  const auto& values = showsSelectionScores() && !layer.selection_scores.empty()
                           ? layer.selection_scores
                           : layer.scores;
  return expert < int(values.size()) ? double(values[expert]) : 0.0;
}

// The shared scale: the token's highest (and, for score + bias, lowest) bar in
// any layer, rounded out to a twentieth so that the tick labels read as plain numbers.
void TokenInspector::updateScale(const moescope::TokenRouting* routing) {
  double top = 0.0, bottom = 0.0;
  if (routing)
    for (const auto& layer : routing->layers)
      for (int e = 0; e < int(layer.scores.size()); ++e) {
        top = std::max(top, barValue(layer, e));
        bottom = std::min(bottom, barValue(layer, e));
      }
  const double limit = showsSelectionScores() ? 1e3 : 1.0;
  scaleTop_ = std::clamp(std::ceil(top * 20.0 - 1e-9) / 20.0, 0.05, limit);
  scaleBottom_ = std::clamp(std::floor(bottom * 20.0 + 1e-9) / 20.0, -limit, 0.0);
}

void TokenInspector::updateLegend() {
  const QString rest =
      tr(" · <b>number</b>: gate weight (share of the output) · grey: not chosen · "
         "hatched: shared experts, with their weight · <b style='color:#d01010'>✕</b>: "
         "switched off");
  barsBox_->setVisible(offersSelectionScores());
  if (!offersSelectionScores())
    legend_->setText(tr("<b>Bar height</b>: selection score (the router's probability, one "
                        "scale for all layers)") +
                     rest);
  else if (showsSelectionScores())
    legend_->setText(
        tr("<b>Bar height</b>: score + balancing bias, what the top-k ranks (one scale)") + rest);
  else
    legend_->setText(tr("<b>Bar height</b>: the router's score, before the balancing bias (a "
                        "chosen expert can stand lower than one left out)") +
                     rest);
}

void TokenInspector::rebuildRows() {
  updateLegend();
  plot_->clearPlottables();
  plot_->clearItems();
  plot_->plotLayout()->clear();
  qDeleteAll(plot_->findChildren<QCPMarginGroup*>(Qt::FindDirectChildrenOnly));
  rows_.clear();
  const auto& config = document_->config();
  const int experts = config.n_routed_experts;
  const int shared = config.n_shared_experts;
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (int e = 0; e < experts; e += experts <= 16 ? 1 : 8) ticker->addTick(e, QString::number(e));
  if (shared > 0) ticker->addTick(experts + 0.5 + shared / 2.0, tr("shared"));
  // One left margin for every row, so their shared scales line up.
  auto* margins = new QCPMarginGroup(plot_);
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
    y->setSubTicks(false);
    row.rect->setMinimumMargins(QMargins(70, 4, 10, 4));
    row.rect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    row.scores = new QCPBars(x, y);
    row.scores->setWidth(0.8);
    row.scores->setPen(Qt::NoPen);
    row.scores->setBrush(QColor(128, 128, 128, 150));
    row.shared = new QCPBars(x, y);
    row.shared->setWidth(0.8);
    row.off = new QCPBars(x, y);
    row.off->setWidth(0.9);
    row.off->setPen(QPen(offColour, 1.5));
    row.off->setBrush(QBrush(offColour, Qt::DiagCrossPattern));
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
  const auto* routing =
      shownToken_ >= 0 ? &document_->snapshot().tokens[shownToken_].routing : nullptr;
  updateScale(routing);
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
  QStringList changes;
  for (Row& row : rows_) {
    fillRow(row, shownToken_);
    if (!row.changeNote.isEmpty()) changes << tr("L%1: %2").arg(row.layer).arg(row.changeNote);
  }
  // Above the plot, not on it: the note covers no bar or label at any size.
  choiceNote_->setText(
      tr("⚠ A switch changed this token's choice · %1").arg(changes.join(QStringLiteral(" · "))));
  choiceNote_->setVisible(!changes.isEmpty());
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TokenInspector::fillRow(Row& row, int index) {
  const auto* routing =
      index >= 0 ? TokenFormat::findLayer(document_->snapshot().tokens[index].routing, row.layer)
                 : nullptr;
  row.filled = routing != nullptr;
  row.changeNote.clear();
  row.sharedLabel.clear();
  for (QCPBars* bars : {row.scores, row.shared, row.off}) bars->data()->clear();
  for (QCPBars* bars : row.chosen) bars->data()->clear();
  QCPAxis* y = row.scores->valueAxis();
  auto yTicks = QSharedPointer<QCPAxisTickerText>::create();
  for (double tick : {scaleBottom_, 0.0, scaleTop_ / 2, scaleTop_})
    yTicks->addTick(tick, QString::number(tick, 'g', 3));
  y->setTicker(yTicks);
  y->setRange(scaleBottom_, scaleBottom_ + (scaleTop_ - scaleBottom_) / barShare);
  if (!routing) return;

  // A served model's records hold the chosen ids alone (RoutingDetail::ids_only):
  // no grey scores then, the chosen bars stepped down by rank, no weights.
  const int experts = document_->config().n_routed_experts;
  const bool scored = int(routing->scores.size()) == experts;
  const auto heightOf = [&](int expert, int rank) {
    return scored ? barValue(*routing, expert) : scaleTop_ * (1.0 - 0.12 * rank);
  };
  for (int e = 0; scored && e < experts; ++e) row.scores->addData(e, barValue(*routing, e));

  const QColor text = palette().color(QPalette::WindowText);
  const int shared = document_->config().n_shared_experts;
  if (shared > 0) {
    for (int s = 0; s < shared; ++s) row.shared->addData(experts + 1 + s, scaleTop_);
    row.shared->setPen(QPen(text, 1.5, routing->shared_active ? Qt::SolidLine : Qt::DashLine));
    row.shared->setBrush(routing->shared_active ? QBrush(text, Qt::Dense4Pattern) : Qt::NoBrush);
    // Their output is added with this weight to every token's, beside the routed experts'.
    row.sharedLabel =
        routing->shared_active
            ? tr("shared · weight %1").arg(TokenFormat::weightText(routing->shared_gate))
            : tr("shared off");
    // Upward from the bar's foot: over the hatching, clear of the row's top.
    labelBar(row, experts + 0.5 + shared / 2.0, scaleTop_ * 0.02, row.sharedLabel,
             routing->shared_active ? palette().color(QPalette::Window) : offColour,
             Qt::AlignVCenter);
  }

  // The experts the run had switched off here: crossed bars and a red ✕ above.
  const moescope::Interventions& switches = document_->snapshot().interventions;
  for (int e = 0; e < experts; ++e) {
    if (!switches.expert_disabled(row.layer, e)) continue;
    const double height = std::max(scored ? barValue(*routing, e) : 0.0, scaleTop_ * 0.06);
    row.off->addData(e, height);
    auto* cross = new QCPItemText(plot_);
    cross->setClipAxisRect(row.rect);
    cross->position->setAxes(row.scores->keyAxis(), y);
    cross->position->setCoords(e, height);
    cross->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
    cross->setText(QStringLiteral("✕"));
    cross->setColor(offColour);
  }

  for (int rank = 0; rank < int(routing->expert_ids.size()); ++rank) {
    const int expert = routing->expert_ids[rank];
    const QColor colour = ExpertPalette::expertColor(expert);
    QCPBars* bars = chosenBars(row, rank);
    bars->setBrush(colour);
    bars->setPen(QPen(text, 1));
    bars->addData(expert, heightOf(expert, rank));
    const QString weight = rank < int(routing->gate_weights.size())
                               ? TokenFormat::weightText(routing->gate_weights[rank])
                               : tr("#%1").arg(rank + 1);
    labelBar(row, expert, heightOf(expert, rank) + scaleTop_ * 0.04,
             QStringLiteral("e%1 %2").arg(expert).arg(weight), colour,
             labelSide(routing->expert_ids, expert, experts));
  }

  if (routing->mask_changed) {
    const auto change = ChoiceChange::of(*routing, document_->config().num_experts_per_tok);
    QStringList parts;
    if (!change.lost.empty()) parts << tr("lost %1").arg(expertList(change.lost));
    if (!change.replacements.empty())
      parts << tr("in its place %1").arg(expertList(change.replacements));
    row.changeNote = parts.join(QStringLiteral(" · "));
  }
}

void TokenInspector::labelBar(Row& row, double key, double foot, const QString& text,
                              const QColor& colour, Qt::Alignment side) {
  // Bars are a few pixels wide, so the label stands vertically above its bar.
  auto* label = new QCPItemText(plot_);
  label->setClipAxisRect(row.rect);
  label->position->setAxes(row.scores->keyAxis(), row.scores->valueAxis());
  label->position->setCoords(key, foot);
  label->setPositionAlignment(Qt::AlignLeft | side);
  label->setRotation(-90);
  label->setText(text);
  label->setBrush(colour);
  label->setColor(ExpertPalette::textColorOn(colour));
  label->setPadding(QMargins(2, 0, 2, 0));
}

const TokenInspector::Row* TokenInspector::findRow(int layer) const {
  for (const Row& row : rows_)
    if (row.layer == layer) return &row;
  return nullptr;
}

QString TokenInspector::legendText() const {
  return legend_->text();
}

QString TokenInspector::changeNote(int layer) const {
  const Row* row = findRow(layer);
  return row ? row->changeNote : QString();
}

QString TokenInspector::sharedLabel(int layer) const {
  const Row* row = findRow(layer);
  return row ? row->sharedLabel : QString();
}

QVector<int> TokenInspector::switchedOffMarks(int layer) const {
  QVector<int> experts;
  if (const Row* row = findRow(layer))
    for (auto it = row->off->data()->constBegin(); it != row->off->data()->constEnd(); ++it)
      experts << int(it->key);
  return experts;
}

CsvTable TokenInspector::table() const {
  // The shown token's selection scores, one row per MoE layer.
  QVector<int> layers;
  QVector<QVector<double>> scores;
  if (shownToken_ >= 0)
    for (const auto& layer : document_->snapshot().tokens[shownToken_].routing.layers) {
      layers << layer.layer;
      QVector<double> values;
      for (int e = 0; e < int(layer.scores.size()); ++e) values << barValue(layer, e);
      scores << values;
    }
  const QString what = showsSelectionScores() ? tr("score + bias") : tr("selection score");
  const QString metric =
      shownToken_ < 0 ? what
                      : tr("%1 of token %2 \"%3\"")
                            .arg(what)
                            .arg(document_->snapshot().tokens[shownToken_].routing.position)
                            .arg(TokenFormat::chipText(document_->snapshot().tokens[shownToken_]));
  return TableExport::layerExpertTable(metric, layers, scores);
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
