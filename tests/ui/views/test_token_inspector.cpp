// The token inspector a class can read: one labelled scale for every layer,
// a legend for height and number, the shared experts named with their weight,
// switched-off experts marked, and for a choice a switch changed, which expert
// the token lost and which took its place.
#include <qcustomplot.h>

#include <QLabel>
#include <QtTest>

#include "document/choice_change.h"
#include "document/routing_document.h"
#include "export/table_export.h"
#include "support/synthetic_run.h"
#include "views/token_inspector.h"

namespace {

// Layer 1 peaks at 0.42, layer 2 at 0.61 — but expert 5, its best, was switched
// off there, so the gate took 1 and 3; layer 3's shared experts are off.
moescope::RoutingSnapshot switchedRun() {
  moescope::RoutingSnapshot snapshot = synthetic::header();
  snapshot.tokens = synthetic::tokens(0, 4);
  auto& layers = snapshot.tokens[3].routing.layers;
  layers[0].scores = {0.02f, 0.42f, 0.1f, 0.3f, 0.05f, 0.05f, 0.03f, 0.03f};
  layers[0].expert_ids = {1, 3};
  layers[0].mask_changed = false;
  layers[1].scores = {0.02f, 0.2f, 0.05f, 0.08f, 0.03f, 0.61f, 0.005f, 0.005f};
  layers[1].expert_ids = {1, 3};
  layers[1].gate_weights = {0.71f, 0.29f};
  layers[1].mask_changed = true;
  layers[1].shared_gate = 0.73f;  // a Qwen2-MoE-like shared gate
  snapshot.interventions.disabled_experts = {{2, 5}, {moescope::Interventions::all_layers, 7}};
  return snapshot;
}

// The synthetic run with DeepSeek-V3's gate: token 3 in layer 1 scores expert 1
// highest (0.9), but a bias of -0.6 lets experts 3 and 0 rank first.
moescope::RoutingSnapshot biasedRun() {
  moescope::RoutingSnapshot snapshot = synthetic::header();
  auto& c = snapshot.model_config;
  c["model_type"] = "deepseek_v3";
  c["architectures"] = {"DeepseekV3ForCausalLM"};
  c.update(nlohmann::json{{"q_lora_rank", nullptr},
                          {"kv_lora_rank", 8},
                          {"qk_nope_head_dim", 8},
                          {"qk_rope_head_dim", 4},
                          {"v_head_dim", 8},
                          {"n_group", 1},
                          {"topk_group", 1},
                          {"scoring_func", "sigmoid"},
                          {"topk_method", "noaux_tc"},
                          {"norm_topk_prob", true}});
  snapshot.tokens = synthetic::tokens(0, 4);
  auto& layer = snapshot.tokens[3].routing.layers[0];
  layer.scores = {0.5f, 0.9f, 0.2f, 0.3f, 0.1f, 0.1f, 0.1f, 0.1f};
  layer.selection_scores = {0.5f, 0.3f, 0.2f, 0.7f, 0.1f, 0.1f, -0.12f, 0.1f};
  layer.expert_ids = {3, 0};
  return snapshot;
}

// Row `index` of the exported table as numbers (after the metric and layer columns).
QVector<float> row(const CsvTable& table, int index) {
  QVector<float> values;
  for (const QString& cell : table.rows.value(index).mid(2)) values << cell.toFloat();
  return values;
}

}  // namespace

class TestTokenInspector : public QObject {
  Q_OBJECT

 private slots:
  void choiceChangeNamesLostAndReplacement() {
    moescope::LayerRouting routing;
    routing.scores = {0.1f, 0.2f, 0.05f, 0.08f, 0.03f, 0.5f, 0.02f, 0.02f};
    routing.expert_ids = {1, 0};  // 5 off: 1 stays, 0 comes in for 5
    const auto change = ChoiceChange::of(routing, 2);
    QCOMPARE(change.lost, std::vector<int>{5});
    QCOMPARE(change.replacements, std::vector<int>{0});
    routing.expert_ids = {5, 1};
    QVERIFY(ChoiceChange::of(routing, 2).lost.empty());
    QVERIFY(ChoiceChange::of(routing, 2).replacements.empty());
    routing.expert_ids = {5};  // k = 1 instead of 2: only a loss
    QCOMPARE(ChoiceChange::of(routing, 2).lost, std::vector<int>{1});
    QVERIFY(ChoiceChange::of(routing, 2).replacements.empty());
  }

  void oneScaleForEveryLayer() {
    RoutingDocument document;
    document.reset(switchedRun());
    TokenInspector inspector(&document);
    document.setSelectedToken(3);
    QCOMPARE(inspector.scaleTop(), 0.65);  // 0.61 rounded up to a twentieth
    const auto rects = inspector.plot()->axisRects();
    QCOMPARE(rects.size(), 3);
    for (QCPAxisRect* rect : rects) {
      QCPAxis* y = rect->axis(QCPAxis::atLeft);
      QCOMPARE(y->range().upper, rects.first()->axis(QCPAxis::atLeft)->range().upper);
      QVERIFY(y->tickLabels());
      auto ticker = y->ticker().dynamicCast<QCPAxisTickerText>();
      QVERIFY(ticker);
      QCOMPARE(ticker->ticks().value(0.65), QStringLiteral("0.65"));
      QCOMPARE(ticker->ticks().value(0.0), QStringLiteral("0"));
    }
    const QString legend = inspector.legendText();
    QVERIFY(legend.contains(QLatin1String("<b>Bar height</b>: selection score")));
    QVERIFY(legend.contains(QLatin1String("<b>number</b>: gate weight")));
    QVERIFY(legend.contains(QLatin1String("shared experts")));
    QVERIFY(legend.contains(QLatin1String("switched off")));
  }

  void biasedSelectionScoresOrRouterScores() {
    RoutingDocument document;
    document.reset(biasedRun());
    TokenInspector inspector(&document);
    document.setSelectedToken(3);
    QVERIFY(inspector.offersSelectionScores());
    // By default the bars show what the top-k ranked, negative values included.
    QCOMPARE(row(inspector.table(), 0).value(1), 0.3f);
    QCOMPARE(row(inspector.table(), 0).value(6), -0.12f);
    QCOMPARE(inspector.scaleTop(), 0.7);
    QCOMPARE(inspector.scaleBottom(), -0.15);
    QVERIFY(inspector.legendText().contains(
        QLatin1String("score + balancing bias, what the top-k ranks")));
    inspector.setShowSelectionScores(false);
    QCOMPARE(row(inspector.table(), 0).value(1), 0.9f);
    QCOMPARE(row(inspector.table(), 0).value(6), 0.1f);
    QCOMPARE(inspector.scaleTop(), 0.9);
    QCOMPARE(inspector.scaleBottom(), 0.0);
    QVERIFY(inspector.legendText().contains(QLatin1String("before the balancing bias")));
    // A model without the bias offers no choice and keeps the plain legend.
    document.reset(switchedRun());
    QVERIFY(!inspector.offersSelectionScores());
    QVERIFY(inspector.legendText().contains(QLatin1String("selection score (the router")));
  }

  void switchesAndSharedExpertsAreMarked() {
    RoutingDocument document;
    document.reset(switchedRun());
    TokenInspector inspector(&document);
    document.setSelectedToken(3);
    QCOMPARE(inspector.switchedOffMarks(1), (QVector<int>{7}));
    QCOMPARE(inspector.switchedOffMarks(2), (QVector<int>{5, 7}));
    QCOMPARE(inspector.changeNote(2), QStringLiteral("lost e5 · in its place e3"));
    QVERIFY(inspector.changeNote(1).isEmpty());
    QCOMPARE(inspector.sharedLabel(1), QStringLiteral("shared · weight 1"));
    QCOMPARE(inspector.sharedLabel(2), QStringLiteral("shared · weight 0.73"));
    QCOMPARE(inspector.sharedLabel(3), QStringLiteral("shared off"));
    // The note stands above the plot, naming the layer and both experts, and
    // covers nothing: no text drawn on the plot, apart from the plot itself.
    inspector.resize(500, 700);
    inspector.show();
    auto* note = inspector.findChild<QLabel*>(QStringLiteral("inspectorChoiceNote"));
    QVERIFY(note && note->isVisible());
    QVERIFY2(note->text().contains(QStringLiteral("L2: lost e5 · in its place e3")),
             qPrintable(note->text()));
    const QRect noteArea(note->mapTo(&inspector, QPoint(0, 0)), note->size());
    const QRect plotArea(inspector.plot()->mapTo(&inspector, QPoint(0, 0)),
                         inspector.plot()->size());
    QVERIFY(!noteArea.intersects(plotArea));
    for (int i = 0; i < inspector.plot()->itemCount(); ++i)
      if (auto* text = qobject_cast<QCPItemText*>(inspector.plot()->item(i)))
        QVERIFY2(!text->text().contains(QLatin1String("lost")), qPrintable(text->text()));
    document.setSelectedToken(2);
    QVERIFY(note->isHidden());
  }
};

QTEST_MAIN(TestTokenInspector)
#include "test_token_inspector.moc"
