// The token inspector a class can read: one labelled scale for every layer,
// a legend for height and number, the shared experts named with their weight,
// switched-off experts marked, and for a choice a switch changed, which expert
// the token lost and which took its place.
#include <qcustomplot.h>

#include <QtTest>

#include "document/choice_change.h"
#include "document/routing_document.h"
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
    // The note is drawn in the row, with both experts in it.
    bool drawn = false;
    for (int i = 0; i < inspector.plot()->itemCount(); ++i)
      if (auto* text = qobject_cast<QCPItemText*>(inspector.plot()->item(i)))
        drawn |= text->text().contains(QLatin1String("lost e5\nin its place e3"));
    QVERIFY(drawn);
  }
};

QTEST_MAIN(TestTokenInspector)
#include "test_token_inspector.moc"
