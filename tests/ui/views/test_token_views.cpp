// Token text view selection by click, the inspector's rows, the compare summary.
#include <QtTest>

#include "document/routing_document.h"
#include "export/table_export.h"
#include "support/synthetic_run.h"
#include "views/compare_view.h"
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
    QCOMPARE(table.rows[1].first(), QString::number(routing.layer));
    QCOMPARE(table.rows[1].size(), 1 + int(routing.scores.size()));
  }

  void tokenHeatmapFollowsFocusLayer() {
    TokenExpertHeatmap heatmap(&document_);
    document_.appendTokens(synthetic::tokens(5, 100));  // forces the columns to grow
    document_.setFocusLayer(2);
    const auto cells = heatmap.cellValues();
    QCOMPARE(cells.size(), 105);
    const auto& routing = document_.snapshot().tokens[70].routing.layers[1];
    QCOMPARE(cells[70][routing.expert_ids[0]], double(routing.gate_weights[0]));
    QCOMPARE(cells[70][routing.expert_ids[1]], double(routing.gate_weights[1]));
    double total = 0;
    for (double value : cells[70]) total += value;
    QCOMPARE(total, double(routing.gate_weights[0] + routing.gate_weights[1]));
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

 private:
  RoutingDocument document_;
};

QTEST_MAIN(TestTokenViews)
#include "test_token_views.moc"
