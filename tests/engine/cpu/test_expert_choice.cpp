// The gate's choice (engine/cpu/expert_choice.h) on hand-made scores: DeepSeek-V3's biased
// selection and noaux_tc groups, DeepSeek-V2's group_limited_greedy, switched-off experts
// inside groups, and the two interventions on bias and groups. The whole forward pass is
// checked against transformers by the golden test; these pin the rules one at a time.
#include <QTest>

#include "cpu/expert_choice.h"

using namespace moescope;
using cpu::choose_experts;

namespace {

// 8 experts in 4 groups of 2, 2 groups kept, top-2.
ModelConfig grouped(TopkMethod method) {
  ModelConfig c;
  c.num_hidden_layers = 2;
  c.n_routed_experts = 8;
  c.num_experts_per_tok = 2;
  c.topk_method = method;
  c.n_group = 4;
  c.topk_group = 2;
  return c;
}

ModelConfig deepseek_v3() {
  ModelConfig c = grouped(TopkMethod::noaux_tc);
  c.scoring_func = "sigmoid";
  c.score_correction_bias = true;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5f;
  return c;
}

}  // namespace

class TestExpertChoice : public QObject {
  Q_OBJECT

 private slots:
  // Groups by the sum of their two best biased scores; the top k within them by biased
  // score; weights the unbiased scores, renormalised and scaled.
  void deepseek_v3_selects_by_the_biased_scores() {
    // Values exact in binary, so that every sum below is exact.
    //                                 g0              g1          g2            g3
    const std::vector<float> scores = {0.875f, 0.125f, 0.5f, 0.5f, 0.25f, 0.25f, 0.625f, 0.75f};
    const std::vector<float> bias = {0, 0, 0, 0, 0, 0.375f, 0, 0};
    // Biased group scores: g0 1.0, g1 1.0, g2 0.875, g3 1.375 -> g3, and g0 before g1 by id.
    const auto choice = choose_experts(deepseek_v3(), 1, scores, bias, {}, 2);
    QCOMPARE(choice.groups, (std::vector<int>{0, 3}));
    QCOMPARE(choice.ids, (std::vector<int>{0, 7}));
    QCOMPARE(choice.selection[5], 0.625f);
    QCOMPARE(choice.weights.size(), std::size_t(2));
    QVERIFY(std::abs(choice.weights[0] - 2.5f * 0.875f / 1.625f) < 1e-6f);
    QVERIFY(std::abs(choice.weights[1] - 2.5f * 0.75f / 1.625f) < 1e-6f);
    // Without the group limit, a bias that lifts expert 5 above expert 0 picks it.
    Interventions no_groups;
    no_groups.no_group_limit = true;
    std::vector<float> strong_bias = bias;
    strong_bias[5] = 0.75f;  // 0.25 + 0.75 = 1.0 beats 0.875
    const auto free = choose_experts(deepseek_v3(), 1, scores, strong_bias, no_groups, 2);
    QVERIFY(free.groups.empty());
    QCOMPARE(free.ids, (std::vector<int>{5, 0}));
    QVERIFY(std::abs(free.weights[0] - 2.5f * 0.25f / 1.125f) < 1e-6f);  // unbiased 0.25
    // Without the bias the raw scores select, and no selection scores are recorded.
    Interventions raw = no_groups;
    raw.select_without_bias = true;
    const auto unbiased = choose_experts(deepseek_v3(), 1, scores, strong_bias, raw, 2);
    QVERIFY(unbiased.selection.empty());
    QCOMPARE(unbiased.ids, (std::vector<int>{0, 7}));
  }

  // DeepSeek-V2: groups ranked by their single best score, softmax weights scaled.
  void deepseek_v2_ranks_groups_by_their_best() {
    ModelConfig c = grouped(TopkMethod::group_limited_greedy);
    c.routed_scaling_factor = 16.0f;
    //                                 g0            g1            g2            g3
    const std::vector<float> scores = {0.30f, 0.01f, 0.14f, 0.14f, 0.02f, 0.01f, 0.20f, 0.18f};
    const auto choice = choose_experts(c, 1, scores, {}, {}, 2);
    QCOMPARE(choice.groups, (std::vector<int>{0, 3}));  // best 0.30 and 0.20
    QCOMPARE(choice.ids, (std::vector<int>{0, 6}));
    QCOMPARE(choice.weights, (std::vector<float>{16.0f * 0.30f, 16.0f * 0.20f}));
    QVERIFY(choice.selection.empty());
    // Greedy: no groups.
    QVERIFY(choose_experts(grouped(TopkMethod::greedy), 1, scores, {}, {}, 2).groups.empty());
  }

  // A switched-off expert does not rank its group; when the kept groups cannot supply k
  // selectable experts, the next-ranked group is kept too.
  void switched_off_experts_leave_their_group() {
    ModelConfig c = grouped(TopkMethod::group_limited_greedy);
    const std::vector<float> scores = {0.30f, 0.01f, 0.14f, 0.14f, 0.02f, 0.01f, 0.20f, 0.18f};
    Interventions off;
    off.disabled_experts = {{1, 0}};
    const auto choice = choose_experts(c, 1, scores, {}, off, 2);
    QCOMPARE(choice.groups, (std::vector<int>{1, 3}));  // g0 ranks by expert 1 now: 0.01
    QCOMPARE(choice.ids, (std::vector<int>{6, 7}));
    c.topk_group = 1;
    off.disabled_experts = {{1, 1}};
    const auto extended = choose_experts(c, 1, scores, {}, off, 2);
    QCOMPARE(extended.groups, (std::vector<int>{0, 3}));  // g0 alone holds one selectable expert
    QCOMPARE(extended.ids, (std::vector<int>{0, 6}));
  }
};

QTEST_APPLESS_MAIN(TestExpertChoice)
#include "test_expert_choice.moc"
