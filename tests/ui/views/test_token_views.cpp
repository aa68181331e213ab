// Token text view selection by click, the inspector's rows, the compare summary.
#include <qcustomplot.h>

#include <QComboBox>
#include <QScrollBar>
#include <QTextBrowser>
#include <QtTest>

#include "document/routing_document.h"
#include "export/table_export.h"
#include "support/synthetic_run.h"
#include "views/compare_view.h"
#include "views/routing_shift.h"
#include "views/token_expert_heatmap.h"
#include "views/token_inspector.h"
#include "views/token_text_view.h"

namespace {

std::vector<moescope::SnapshotToken> run(const QStringList& generated) {
  std::vector<moescope::SnapshotToken> tokens = synthetic::tokens(0, synthetic::promptTokens);
  for (const QString& piece : generated) {
    moescope::SnapshotToken token;
    token.text = piece.toStdString();
    tokens.push_back(token);
  }
  return tokens;
}

}  // namespace

class TestTokenViews : public QObject {
  Q_OBJECT

 private slots:
  void init() {
    auto snapshot = synthetic::header();
    snapshot.tokens = synthetic::tokens(0, 5);
    document_.reset(snapshot);
  }

  void clickSelectsToken() {
    TokenTextView view(&document_);
    view.resize(600, 300);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    document_.appendTokens(synthetic::tokens(5, 3));  // laid out incrementally
    for (int index : {4, 6, 1}) {
      const QRect rect = view.tokenRect(index);
      QVERIFY(!rect.isEmpty());
      QWidget* target = view.childAt(rect.center());
      QVERIFY(target);
      QTest::mouseClick(target, Qt::LeftButton, {}, target->mapFrom(&view, rect.center()));
      QCOMPARE(document_.selectedToken(), index);
    }
    // The newline piece (token 5) ends its line: token 6 starts the next one.
    QVERIFY(view.tokenRect(6).top() > view.tokenRect(5).top());
  }

  void inspectorShowsSelectedToken() {
    TokenInspector inspector(&document_);
    QCOMPARE(inspector.shownToken(), -1);
    QVERIFY(inspector.shownLayers().isEmpty());
    document_.setSelectedToken(2);
    QCOMPARE(inspector.shownToken(), 2);
    QCOMPARE(inspector.shownLayers(), (QVector<int>{1, 2, 3}));
    // Its exported table holds that token's scores, one row per layer.
    const CsvTable table = inspector.table();
    QCOMPARE(table.rows.size(), 3);
    const auto& routing = document_.snapshot().tokens[2].routing.layers[1];
    QCOMPARE(table.header.first(), QStringLiteral("metric"));
    QCOMPARE(table.rows[1][0], QStringLiteral("selection score of token 2 \",\""));
    QCOMPARE(table.rows[1][1], QString::number(routing.layer));
    QCOMPARE(table.rows[1].size(), 2 + int(routing.scores.size()));
  }

  // Token x expert picks its layer itself: the layer colouring the text
  // (the document's focus layer) leaves it alone, and its CSV names its own.
  void tokenHeatmapHasItsOwnLayer() {
    TokenExpertHeatmap heatmap(&document_);
    QCOMPARE(heatmap.layer(), 1);                       // the first MoE layer
    document_.appendTokens(synthetic::tokens(5, 100));  // forces the columns to grow
    auto* box = heatmap.findChild<QComboBox*>(QStringLiteral("tokenExpertLayerBox"));
    QVERIFY(box);
    QCOMPARE(box->count(), 3);
    box->setCurrentIndex(box->findData(2));
    QCOMPARE(heatmap.layer(), 2);
    document_.setFocusLayer(3);
    QCOMPARE(heatmap.layer(), 2);
    QCOMPARE(heatmap.table().rows[0][1], QStringLiteral("2"));
    const auto cells = heatmap.cellValues();
    QCOMPARE(cells.size(), 105);
    const auto& routing = document_.snapshot().tokens[70].routing.layers[1];
    QCOMPARE(cells[70][routing.expert_ids[0]], double(routing.gate_weights[0]));
    QCOMPARE(cells[70][routing.expert_ids[1]], double(routing.gate_weights[1]));
    double total = 0;
    for (double value : cells[70]) total += value;
    QCOMPARE(total, double(routing.gate_weights[0] + routing.gate_weights[1]));
  }

  // The start marker and a byte-fallback piece have no text: their CSV rows
  // say which they are, beside the id, instead of an empty field alone.
  void csvNamesSpecialAndBytePieces() {
    auto snapshot = synthetic::header();
    snapshot.tokens = synthetic::tokens(0, 5);
    snapshot.tokens[0].text.clear();  // position 0, prompt: BOS
    snapshot.tokens[3].text.clear();  // bytes a later token completes
    document_.reset(snapshot);
    TokenExpertHeatmap heatmap(&document_);
    const CsvTable table = heatmap.table();
    const int kind = int(table.header.indexOf(QStringLiteral("token_kind")));
    QVERIFY(kind > 0);
    QCOMPARE(table.rows[0][kind], QStringLiteral("special"));
    QCOMPARE(table.rows[1][kind], QStringLiteral("text"));
    QCOMPARE(table.rows[3][kind], QStringLiteral("byte"));
    QCOMPARE(table.rows[3][table.header.indexOf(QStringLiteral("token_id"))],
             QString::number(snapshot.tokens[3].routing.token_id));
  }

  // A 305-token run zoomed to 50 tokens: the axis spans 50, the bar scrolls
  // the rest, streaming tokens stay in view at the end, a selected token out
  // of view is brought into it.
  void tokenHeatmapZoomsAndScrolls() {
    TokenExpertHeatmap heatmap(&document_);
    document_.setFocusLayer(1);
    document_.appendTokens(synthetic::tokens(5, 300));
    QCOMPARE(heatmap.shownRange(), qMakePair(0, 304));
    QVERIFY(heatmap.scrollBar()->isHidden());
    heatmap.setShownTokens(50);
    QVERIFY(!heatmap.scrollBar()->isHidden());
    QCOMPARE(heatmap.scrollBar()->maximum(), 255);
    QCOMPARE(heatmap.plot()->xAxis->range().size(), 50.0);
    heatmap.scrollBar()->setValue(100);
    QCOMPARE(heatmap.shownRange(), qMakePair(100, 149));
    QCOMPARE(heatmap.plot()->xAxis->range().lower, 99.5);
    document_.setSelectedToken(20);
    QVERIFY(heatmap.shownRange().first <= 20 && heatmap.shownRange().second >= 20);
    heatmap.scrollBar()->setValue(heatmap.scrollBar()->maximum());
    document_.appendTokens(synthetic::tokens(305, 10));  // at the end: follows
    QCOMPARE(heatmap.shownRange(), qMakePair(265, 314));
    heatmap.setShownTokens(0);
    QCOMPARE(heatmap.shownRange(), qMakePair(0, 314));
  }

  void compareSummary_data() {
    QTest::addColumn<QStringList>("baseline");
    QTest::addColumn<QStringList>("intervened");
    QTest::addColumn<QString>("summary");
    QTest::newRow("identical") << QStringList{"a", " b"} << QStringList{"a", " b"}
                               << "Identical generations (2 tokens)";
    QTest::newRow("substitution and insertion")
        << QStringList{"a", "b", "c", "d", "e"} << QStringList{"a", "b", "x", "d", "e", "f"}
        << "First divergence at generated token 3 · 2 of 6 intervened tokens differ "
           "(1 baseline tokens removed)";
    QTest::newRow("all different") << QStringList{"a"} << QStringList{"b", "c"}
                                   << "First divergence at generated token 1 · 2 of 2 "
                                      "intervened tokens differ (1 baseline tokens removed)";
  }

  void compareSummary() {
    QFETCH(QStringList, baseline);
    QFETCH(QStringList, intervened);
    QFETCH(QString, summary);
    CompareView view;
    view.setRuns(run(baseline), run(intervened));
    QCOMPARE(view.summary(), summary);
  }

  // Expert 0 had half of layer 1's choices; switched off, expert 3 took them all.
  void routingShiftSaysWhereTheLoadWent() {
    const auto chose = [](std::vector<std::vector<int>> choices) {
      std::vector<moescope::SnapshotToken> tokens;
      for (const auto& ids : choices) {
        moescope::SnapshotToken token;
        token.routing.layers.push_back({});
        token.routing.layers.back().layer = 1;
        token.routing.layers.back().expert_ids = ids;
        tokens.push_back(token);
      }
      return tokens;
    };
    moescope::Interventions off;
    off.disabled_experts = {{1, 0}};
    const auto layers =
        RoutingShift::perLayer(chose({{0, 1}, {0, 2}}), chose({{3, 1}, {3, 2}}), off, {1, 2}, 4);
    QCOMPARE(int(layers.size()), 2);
    QCOMPARE(layers[0].before, (std::vector<double>{0.5, 0.25, 0.25, 0.0}));
    QCOMPARE(layers[0].after, (std::vector<double>{0.0, 0.25, 0.25, 0.5}));
    QCOMPARE(RoutingShift::describe(layers[0]),
             QStringLiteral("L1 · off: e0 (had 50.0% of the choices) → e3 +50.0 pts"));
    QCOMPARE(RoutingShift::describe(layers[1]),
             QStringLiteral("L2 · nothing off here · no expert's share moved"));
  }

  // The header names the switch and what the texts and the KL bars are;
  // the KL is of the baseline's tokens (teacher-forced), and a cap is said.
  // With nothing off the view says what to do.
  void compareNamesTheSwitch() {
    CompareView view;
    CompareView::Comparison comparison;
    comparison.baseline = run({"a", "b"});
    comparison.intervened = run({"a", "c"});
    comparison.interventionText = QStringLiteral("expert 2 off in every layer");
    comparison.nextTokenKl = {0.0, 0.5};
    comparison.moeLayers = {1};
    comparison.experts = 8;
    view.showComparison(comparison);
    QCOMPARE(view.header(), QStringLiteral("Baseline (all experts on) vs expert 2 off in every "
                                           "layer"));
    QVERIFY(view.summary().contains(QLatin1String("scored on the baseline's text")));
    QVERIFY2(
        view.divergenceSummary().contains(QLatin1String("teacher-forced")) &&
            view.divergenceSummary().contains(QLatin1String("Largest: 0.5 at token 2 (\"b\")")),
        qPrintable(view.divergenceSummary()));
    QVERIFY(!view.divergenceSummary().contains(QLatin1String("Only the first")));
    QCOMPARE(view.divergenceTable().header.last(),
             QStringLiteral("teacher_forced_next_token_kl_baseline_to_switched_nats"));
    QCOMPARE(view.divergenceTable().rows[1],
             (QStringList{"2", "0", "b", "text", "0", "c", "text", "0.5"}));
    comparison.nextTokenKl = {0.25};
    comparison.comparedTokenCap = 1;
    view.showComparison(comparison);
    QVERIFY2(view.divergenceSummary().contains(QLatin1String("Only the first 1 of 2 tokens")),
             qPrintable(view.divergenceSummary()));
    view.showNothingSwitchedOff();
    QVERIFY(view.header().startsWith(QLatin1String("Nothing is switched off")));
    QVERIFY(view.routingShift().isEmpty());
  }

  // The texts start with the prompt both runs continue; a character split over
  // byte-fallback tokens shows whole (it was two U+FFFD); the texts follow the window's
  // font, which zoom and presentation mode set.
  void compareTextsShowThePromptAndWholeCharacters() {
    CompareView view;
    auto baseline = run({"a", "", ""});
    baseline.end()[-2].text = "\xe4";  // 一 in two tokens (a QString would not keep the bytes)
    baseline.end()[-1].text = "\xb8\x80";
    view.setRuns(baseline, run({"a", "b"}));
    auto* text = view.findChild<QTextBrowser*>(QStringLiteral("compareBaselineText"));
    const QString plain = text->toPlainText();
    std::string prompt;
    for (const auto& token : baseline)
      if (token.routing.is_prompt) prompt += token.text;
    QVERIFY2(plain.startsWith(QString::fromStdString(prompt).trimmed()), qPrintable(plain));
    QVERIFY2(plain.endsWith(QStringLiteral("a一")), qPrintable(plain));
    QVERIFY(!plain.contains(QChar::ReplacementCharacter));
    const double before = text->font().pointSizeF();
    QFont larger = view.font();
    larger.setPointSizeF(view.font().pointSizeF() * 2);
    view.setFont(larger);
    QCOMPARE(text->font().pointSizeF(), before * 2);
  }

 private:
  RoutingDocument document_;
};

QTEST_MAIN(TestTokenViews)
#include "test_token_views.moc"
