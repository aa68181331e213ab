// backend_compare against the CPU backend itself: two CPU backends agree; a
// backend that shifts a logit, swaps an expert or bends the residual stream is
// caught; near-ties are told from real mismatches.
#include <QTest>

#include "backends/backend_compare.h"
#include "cpu/cpu_backend.h"
#include "model/model.h"

using namespace moescope;

namespace {

std::filesystem::path fixture() {
  return std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / "normtopk-bf16-sharded";
}

enum class Fault { none, logit, expert, hidden };

// The CPU backend with one planted fault.
class FaultyBackend final : public Backend {
 public:
  FaultyBackend(const Model& model, Fault fault) : inner_(model), fault_(fault) {}
  std::span<const float> forward_batch(std::span<const int> ids, int pos0, const Interventions& iv,
                                       std::span<TokenRouting> traces,
                                       LogitsWanted wanted) override {
    const auto l = inner_.forward_batch(ids, pos0, iv, traces, wanted);
    logits_.assign(l.begin(), l.end());
    if (fault_ == Fault::logit) logits_[3] += 0.1f * (1.0f + std::abs(logits_[3]));
    if (fault_ == Fault::expert && !traces.empty()) {
      auto& ids0 = traces[0].layers[0].expert_ids;
      const auto& scores = traces[0].layers[0].scores;
      for (int e = 0; e < int(scores.size()); ++e)  // the worst expert instead of the best
        if (scores[e] < scores[ids0[0]] * 0.5f) ids0[0] = e;
    }
    return logits_;
  }
  void reset() override { inner_.reset(); }
  std::string name() const override { return "faulty"; }
  void keep_hidden_states(bool on) override { inner_.keep_hidden_states(on); }
  std::span<const float> hidden_states() const override {
    hidden_.assign(inner_.hidden_states().begin(), inner_.hidden_states().end());
    if (fault_ == Fault::hidden && !hidden_.empty()) hidden_[hidden_.size() / 2] += 1.0f;
    return hidden_;
  }

 private:
  CpuBackend inner_;
  Fault fault_;
  std::vector<float> logits_;
  mutable std::vector<float> hidden_;
};

LayerRouting layer(std::vector<float> scores, std::vector<int> ids) {
  LayerRouting l;
  l.scores = std::move(scores);
  l.expert_ids = std::move(ids);
  return l;
}

}  // namespace

class TestBackendCompare : public QObject {
  Q_OBJECT
 private slots:
  void cpu_agrees_with_itself() {
    const auto model = Model::load(fixture());
    CpuBackend a(*model), b(*model);
    const std::vector<int> prompt{1, 5, 9, 2};
    const BackendComparison c = compare_backends(a, b, model->config(), prompt, 3);
    QVERIFY2(c.passed(), c.summary().c_str());
    QCOMPARE(c.logits.relative(), 0.0);
    QCOMPARE(c.near_ties + c.mismatches, 0);
    // 4 + 3 tokens, each through every MoE layer.
    QCOMPARE(c.routing_compared, 7 * model->config().num_moe_layers());
    QCOMPARE(c.hidden.size(), std::size_t(model->config().num_hidden_layers));
  }

  void planted_faults_are_caught_data() {
    QTest::addColumn<int>("fault");
    QTest::addColumn<QString>("said");
    QTest::newRow("logit") << int(Fault::logit) << "logits";
    QTest::newRow("expert") << int(Fault::expert) << "the reference [";
    QTest::newRow("hidden") << int(Fault::hidden) << "worst layer";
  }
  void planted_faults_are_caught() {
    QFETCH(int, fault);
    QFETCH(QString, said);
    const auto model = Model::load(fixture());
    FaultyBackend faulty(*model, Fault(fault));
    CpuBackend cpu(*model);
    const std::vector<int> prompt{1, 5, 9, 2};
    const BackendComparison c = compare_backends(faulty, cpu, model->config(), prompt, 2);
    QVERIFY2(!c.passed(), c.summary().c_str());
    QVERIFY2(QString::fromStdString(c.summary()).contains(said), c.summary().c_str());
  }

  void near_ties_told_from_mismatches() {
    const double tie = 1e-5;
    const LayerRouting ref = layer({0.5f, 0.2f, 0.2f * (1 + 1e-7f), 0.1f}, {0, 2});
    QCOMPARE(classify_routing(ref, ref, tie), RoutingDifference::none);
    QCOMPARE(classify_routing(layer(ref.scores, {0, 1}), ref, tie), RoutingDifference::near_tie);
    QCOMPARE(classify_routing(layer(ref.scores, {0, 3}), ref, tie), RoutingDifference::mismatch);
    QCOMPARE(classify_routing(layer(ref.scores, {2, 0}), ref, tie), RoutingDifference::mismatch);
    QCOMPARE(classify_routing(layer(ref.scores, {0}), ref, tie), RoutingDifference::mismatch);
    QCOMPARE(classify_routing(layer(ref.scores, {0, 9}), ref, tie), RoutingDifference::mismatch);
  }
};

QTEST_GUILESS_MAIN(TestBackendCompare)
#include "test_backend_compare.moc"
