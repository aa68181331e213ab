#include "views/compare_view.h"

#include <qcustomplot.h>

#include <QEvent>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <algorithm>
#include <numeric>

#include "document/token_format.h"
#include "export/plot_export.h"
#include "export/table_export.h"
#include "plots/expert_palette.h"
#include "plots/heatmap_plot.h"
#include "views/routing_shift.h"

namespace {

std::vector<moescope::SnapshotToken> generatedTokens(
    const std::vector<moescope::SnapshotToken>& tokens) {
  std::vector<moescope::SnapshotToken> generated;
  for (const auto& token : tokens)
    if (!token.routing.is_prompt) generated.push_back(token);
  return generated;
}

// A token's three columns: its id, its exact text and what kind of piece it is.
QStringList tokenColumns(const std::vector<moescope::SnapshotToken>& tokens, int j) {
  if (j >= int(tokens.size())) return {QString(), QString(), QString()};
  return {QString::number(tokens[j].routing.token_id), QString::fromStdString(tokens[j].text),
          TokenFormat::kindName(TokenFormat::kindOf(tokens[j]))};
}

std::vector<std::string> piecesOf(const std::vector<moescope::SnapshotToken>& tokens) {
  std::vector<std::string> pieces;
  for (const auto& token : tokens) pieces.push_back(token.text);
  return pieces;
}

// kept[i] is true where piece i of a (b) belongs to a longest common subsequence.
void longestCommonSubsequence(const std::vector<std::string>& a, const std::vector<std::string>& b,
                              std::vector<bool>& keptA, std::vector<bool>& keptB) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<int> length((n + 1) * (m + 1), 0);  // [n+1][m+1], suffix LCS lengths
  auto at = [&](std::size_t i, std::size_t j) -> int& { return length[i * (m + 1) + j]; };
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t j = m; j-- > 0;)
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
  keptA.assign(n, false);
  keptB.assign(m, false);
  for (std::size_t i = 0, j = 0; i < n && j < m;) {
    if (a[i] == b[j]) {
      keptA[i++] = keptB[j++] = true;
    } else if (at(i + 1, j) >= at(i, j + 1)) {
      ++i;
    } else {
      ++j;
    }
  }
}

// The prompt's text (the start marker left out), which both runs continue.
QString promptText(const std::vector<moescope::SnapshotToken>& tokens) {
  std::string text;
  for (const auto& token : tokens)
    if (token.routing.is_prompt && TokenFormat::kindOf(token) != TokenFormat::PieceKind::special)
      text += token.text;
  return QString::fromStdString(text);
}

// The prompt in grey, then the pieces, changed ones wrapped in `changedStyle`; newlines
// break lines. A run of pieces the diff treats alike is decoded as one string, so that
// the bytes of a character split over byte-fallback tokens show as that character.
QString diffHtml(const QString& prompt, const std::vector<std::string>& pieces,
                 const std::vector<bool>& kept, const QString& changedStyle) {
  const auto html = [](const QString& text) {
    return text.toHtmlEscaped().replace(QLatin1Char('\n'), QLatin1String("<br>"));
  };
  QString out = QStringLiteral("<span style=\"color:gray\">%1</span>").arg(html(prompt));
  for (std::size_t i = 0; i < pieces.size();) {
    std::string run;
    const bool same = kept[i];
    for (; i < pieces.size() && kept[i] == same; ++i) run += pieces[i];
    const QString text = QString::fromStdString(run);
    out += same ? html(text)
                : QStringLiteral("<span style=\"%1\">%2</span>")
                      .arg(changedStyle,
                           html(text.trimmed().isEmpty() ? TokenFormat::displayText(run) : text));
  }
  return QStringLiteral("<div style=\"white-space:pre-wrap\">%1</div>").arg(out);
}

}  // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
  header_ = new QLabel(this);
  header_->setObjectName(QStringLiteral("compareHeader"));
  header_->setWordWrap(true);
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  baseline_ = new QTextBrowser(this);
  baseline_->setObjectName(QStringLiteral("compareBaselineText"));
  intervened_ = new QTextBrowser(this);
  intervened_->setObjectName(QStringLiteral("compareSwitchedText"));
  shift_ = new QLabel(this);
  shift_->setWordWrap(true);
  shift_->setTextFormat(Qt::PlainText);
  shift_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  divergence_ = new QLabel(this);
  divergence_->setWordWrap(true);
  klPlot_ = new QCustomPlot(this);
  klPlot_->setMinimumHeight(140);
  klPlot_->yAxis->setLabel(tr("KL (nats)"));
  klPlot_->xAxis->setLabel(tr("generated token"));
  new ExportActions(
      klPlot_, [this] { return divergenceTable(); }, this,
      [this] { return tr("Next-token KL per generated token · %1").arg(header_->text()); });

  // The two texts left, one above the other so that their lines run the
  // column's width; right, the routing per layer above the divergence plot.
  auto* texts = new QWidget;
  auto* textLayout = new QVBoxLayout(texts);
  textLayout->setContentsMargins(0, 0, 0, 0);
  textLayout->addWidget(new QLabel(tr("<b>Baseline</b> (all experts on)"), texts));
  textLayout->addWidget(baseline_, 1);
  textLayout->addWidget(new QLabel(tr("<b>Switched</b>"), texts));
  textLayout->addWidget(intervened_, 1);
  auto* analysis = new QWidget;
  auto* analysisLayout = new QVBoxLayout(analysis);
  analysisLayout->setContentsMargins(0, 0, 0, 0);
  auto* loadTitle = new QLabel(
      tr("<b>Where the load went</b> (share of each layer's choices, all tokens)"), analysis);
  loadTitle->setWordWrap(true);
  analysisLayout->addWidget(loadTitle);
  analysisLayout->addWidget(shift_);
  analysisLayout->addWidget(divergence_);
  analysisLayout->addWidget(klPlot_, 1);
  // It scrolls in a short dock (1280×720) instead of growing the window.
  auto* analysisScroll = new QScrollArea;
  analysisScroll->setWidget(analysis);
  analysisScroll->setWidgetResizable(true);
  analysisScroll->setFrameShape(QFrame::NoFrame);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(texts);
  split->addWidget(analysisScroll);
  split->setSizes({1000, 1000});  // halves, whatever the dock's width
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(header_);
  layout->addWidget(summary_);
  layout->addWidget(split, 1);
  applyFonts();
  showNothingSwitchedOff();
  header_->setText(
      tr("Switch experts off (Expert switches, or a lesson), then press "
         "\"Compare with experts off\": the same prompt and seed run with all "
         "experts on and with your switches, side by side."));
}

void CompareView::changeEvent(QEvent* event) {
  QWidget::changeEvent(event);
  if (event->type() == QEvent::FontChange) applyFonts();
}

void CompareView::applyFonts() {
  const auto scaled = [this](double factor) {
    QFont font = this->font();
    font.setPointSizeF(font.pointSizeF() * factor);
    return font;
  };
  header_->setFont(scaled(1.2));
  baseline_->setFont(scaled(1.25));
  intervened_->setFont(scaled(1.25));
  setProjectionFonts(klPlot_);
  klPlot_->replot(QCustomPlot::rpQueuedReplot);
}

void CompareView::showNothingSwitchedOff() {
  header_->setText(
      tr("Nothing is switched off, so both runs would be the same. Click experts "
         "in Expert switches (or run a lesson step) first, then press "
         "\"Compare with experts off\"."));
  summary_->clear();
  baseline_->clear();
  intervened_->clear();
  shiftLines_.clear();
  shift_->clear();
  showDivergence({}, 0);
}

void CompareView::showComparison(const Comparison& comparison) {
  header_->setText(tr("Baseline (all experts on) vs %1").arg(comparison.interventionText));
  setRuns(comparison.baseline, comparison.intervened);
  summary_->setText(summary_->text() +
                    tr("\nThe texts: both runs free, same prompt and seed · the KL bars: the "
                       "switched model scored on the baseline's text"));
  shiftLines_.clear();
  for (const auto& layer :
       RoutingShift::perLayer(comparison.baseline, comparison.intervened, comparison.interventions,
                              comparison.moeLayers, comparison.experts))
    shiftLines_ << RoutingShift::describe(layer);
  shift_->setText(shiftLines_.join(QLatin1Char('\n')));
  showDivergence(comparison.nextTokenKl, comparison.comparedTokenCap);
}

void CompareView::setRuns(const std::vector<moescope::SnapshotToken>& baseline,
                          const std::vector<moescope::SnapshotToken>& intervened) {
  beforeTokens_ = generatedTokens(baseline);
  afterTokens_ = generatedTokens(intervened);
  const auto before = piecesOf(beforeTokens_);
  const auto after = piecesOf(afterTokens_);
  std::vector<bool> keptBefore, keptAfter;
  longestCommonSubsequence(before, after, keptBefore, keptAfter);
  const QString prompt = promptText(intervened);
  baseline_->setHtml(diffHtml(prompt, before, keptBefore,
                              QStringLiteral("background:#f4a6a6; color:black; "
                                             "text-decoration:line-through")));
  intervened_->setHtml(
      diffHtml(prompt, after, keptAfter, QStringLiteral("background:#9fe3a5; color:black")));

  std::size_t first = 0;
  while (first < before.size() && first < after.size() && before[first] == after[first]) ++first;
  firstDivergence_ = int(first);
  const auto inserted = std::count(keptAfter.begin(), keptAfter.end(), false);
  const auto removed = std::count(keptBefore.begin(), keptBefore.end(), false);
  if (inserted == 0 && removed == 0) {
    summary_->setText(tr("Identical generations (%1 tokens)").arg(after.size()));
    return;
  }
  summary_->setText(tr("First divergence at generated token %1 · %2 of %3 intervened tokens differ "
                       "(%4 baseline tokens removed)")
                        .arg(first + 1)
                        .arg(inserted)
                        .arg(after.size())
                        .arg(removed));
}

void CompareView::showDivergence(const QVector<double>& kl, int cap) {
  kl_ = kl;
  klPlot_->clearPlottables();
  klPlot_->clearItems();
  if (kl.isEmpty()) {
    divergence_->clear();
    klPlot_->setVisible(false);
    return;
  }
  klPlot_->setVisible(true);
  auto* bars = new QCPBars(klPlot_->xAxis, klPlot_->yAxis);
  bars->setPen(Qt::NoPen);
  bars->setBrush(QColor(0xd0, 0x60, 0x10));
  double top = 0.0;
  int largest = 0;
  for (int j = 0; j < kl.size(); ++j) {
    bars->addData(j + 1, kl[j]);
    if (kl[j] > top) top = kl[j], largest = j;
  }
  // Where the free-running texts part: the first token the switch changed.
  if (firstDivergence_ < kl.size()) {
    auto* line = new QCPItemStraightLine(klPlot_);
    line->point1->setCoords(firstDivergence_ + 0.5, 0);
    line->point2->setCoords(firstDivergence_ + 0.5, 1);
    line->setPen(QPen(palette().color(QPalette::WindowText), 1, Qt::DashLine));
    auto* label = new QCPItemText(klPlot_);
    label->position->setCoords(firstDivergence_ + 0.6, std::max(top, 1e-6) * 1.05);
    label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    label->setText(tr("texts part"));
    label->setColor(palette().color(QPalette::WindowText));
  }
  klPlot_->xAxis->setRange(0.3, kl.size() + 0.7);
  klPlot_->yAxis->setRange(0, std::max(top, 1e-6) * 1.15);
  setProjectionFonts(klPlot_);
  ExpertPalette::applyPlotPalette(klPlot_, palette());
  klPlot_->replot(QCustomPlot::rpQueuedReplot);

  const QString piece = largest < int(beforeTokens_.size())
                            ? TokenFormat::chipText(beforeTokens_[largest])
                            : QString();
  QString text =
      tr("<b>How far the switches moved the prediction</b>, token by token of the baseline's "
         "text: the switched model reads the same text (teacher-forced), and each bar is "
         "KL(baseline ‖ switched) between the two next-token distributions, in nats (0: the "
         "same prediction). Largest: %1 at token %2 (\"%3\").")
          .arg(top, 0, 'g', 3)
          .arg(largest + 1)
          .arg(piece.toHtmlEscaped());
  if (kl.size() < int(beforeTokens_.size()))
    text += tr(" Only the first %1 of %2 tokens are measured: the baseline's distributions are "
               "kept in memory for at most %3 tokens.")
                .arg(kl.size())
                .arg(beforeTokens_.size())
                .arg(cap);
  divergence_->setText(text);
}

QString CompareView::header() const {
  return header_->text();
}

QString CompareView::summary() const {
  return summary_->text();
}

QStringList CompareView::routingShift() const {
  return shiftLines_;
}

QString CompareView::divergenceSummary() const {
  return divergence_->text();
}

CsvTable CompareView::divergenceTable() const {
  CsvTable table;
  table.header = {QStringLiteral("generated_token"),
                  QStringLiteral("baseline_token_id"),
                  QStringLiteral("baseline_token"),
                  QStringLiteral("baseline_token_kind"),
                  QStringLiteral("switched_free_run_token_id"),
                  QStringLiteral("switched_free_run_token"),
                  QStringLiteral("switched_free_run_token_kind"),
                  QStringLiteral("teacher_forced_next_token_kl_baseline_to_switched_nats")};
  for (int j = 0; j < kl_.size(); ++j)
    table.rows << (QStringList{QString::number(j + 1)} + tokenColumns(beforeTokens_, j) +
                   tokenColumns(afterTokens_, j) + QStringList{QString::number(kl_[j], 'g', 6)});
  return table;
}
