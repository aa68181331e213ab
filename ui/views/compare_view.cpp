#include "views/compare_view.h"

#include <QGridLayout>
#include <QLabel>
#include <QTextBrowser>
#include <algorithm>

#include "document/token_format.h"

namespace {

std::vector<std::string> generatedPieces(const std::vector<moescope::SnapshotToken>& tokens) {
  std::vector<std::string> pieces;
  for (const auto& token : tokens)
    if (!token.routing.is_prompt) pieces.push_back(token.text);
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

// The pieces as HTML, changed ones wrapped in `changedStyle`; newlines break lines.
QString diffHtml(const std::vector<std::string>& pieces, const std::vector<bool>& kept,
                 const QString& changedStyle) {
  QString html;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    QString text = QString::fromStdString(pieces[i]).toHtmlEscaped();
    text.replace(QLatin1Char('\n'), QLatin1String("<br>"));
    if (!kept[i])
      text = QStringLiteral("<span style=\"%1\">%2</span>")
                 .arg(changedStyle, text.isEmpty() || text.trimmed().isEmpty()
                                        ? TokenFormat::displayText(pieces[i]).toHtmlEscaped()
                                        : text);
    html += text;
  }
  return QStringLiteral("<div style=\"white-space:pre-wrap; font-size:15pt\">%1</div>").arg(html);
}

}  // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
  summary_ = new QLabel(this);
  QFont large = summary_->font();
  large.setPointSize(14);
  summary_->setFont(large);
  summary_->setWordWrap(true);
  baseline_ = new QTextBrowser(this);
  intervened_ = new QTextBrowser(this);
  auto* layout = new QGridLayout(this);
  layout->addWidget(summary_, 0, 0, 1, 2);
  layout->addWidget(new QLabel(tr("<b>Baseline</b>"), this), 1, 0);
  layout->addWidget(new QLabel(tr("<b>With intervention</b>"), this), 1, 1);
  layout->addWidget(baseline_, 2, 0);
  layout->addWidget(intervened_, 2, 1);
  layout->setRowStretch(2, 1);
}

void CompareView::setRuns(const std::vector<moescope::SnapshotToken>& baseline,
                          const std::vector<moescope::SnapshotToken>& intervened) {
  const auto before = generatedPieces(baseline);
  const auto after = generatedPieces(intervened);
  std::vector<bool> keptBefore, keptAfter;
  longestCommonSubsequence(before, after, keptBefore, keptAfter);
  baseline_->setHtml(diffHtml(before, keptBefore,
                              QStringLiteral("background:#f4a6a6; color:black; "
                                             "text-decoration:line-through")));
  intervened_->setHtml(
      diffHtml(after, keptAfter, QStringLiteral("background:#9fe3a5; color:black")));

  std::size_t first = 0;
  while (first < before.size() && first < after.size() && before[first] == after[first]) ++first;
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

QString CompareView::summary() const {
  return summary_->text();
}
