// The CUDA backend's host-side planning, on every machine (no device needed):
// the weight layout, scratch sizing and the memory check, the routing records,
// the routing parameters and the decode graph's key, the expert grouping, the families.
#include <QTest>
#include <cstring>

#include "cuda_plan/expert_groups.h"
#include "cuda_plan/family_support.h"
#include "cuda_plan/routing_plan.h"
#include "cuda_plan/routing_record.h"
#include "cuda_plan/scratch_plan.h"
#include "cuda_plan/weight_layout.h"
#include "model/model.h"
#include "support/expect_error.h"

using namespace moescope;
using namespace moescope::cuda_plan;

namespace {

std::filesystem::path fixture(const char* name) {
  return std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / name;
}

std::uint32_t word_of(float f) {
  std::uint32_t w;
  std::memcpy(&w, &f, sizeof w);
  return w;
}

}  // namespace

class TestCudaPlan : public QObject {
  Q_OBJECT
 private slots:
  void refuses_families_the_kernels_do_not_run() {
    const auto runs = [](const char* name) {
      return runs_family(Model::load(fixture(name))->config().family);
    };
    QVERIFY(runs("olmoe-t5") && runs("qwen2moe-t5") && runs("mixtral-t5") &&
            runs("dense-lead-f32"));
    const auto qwen3 = Model::load(fixture("qwen3moe-t5"));
    QVERIFY(!runs_family(qwen3->config().family));
    QCOMPARE(engine_error_of([&] { require_family("qwen3moe-t5", qwen3->config()); }),
             std::string("qwen3moe-t5: the CUDA backend does not run Qwen3-MoE (qwen3_moe) yet"));
    for (const auto& row :
         {std::pair{"deepseekv2-t5", "the CUDA backend does not run DeepSeek-V2 (deepseek_v2) yet"},
          std::pair{"deepseekv3-t5",
                    "the CUDA backend does not run DeepSeek-V3 (deepseek_v3) yet"}}) {
      const std::string name = row.first, message = row.second;
      const auto model = Model::load(fixture(row.first));
      QVERIFY(!runs_family(model->config().family));
      QCOMPARE(engine_error_of([&] { require_family(name, model->config()); }),
               name + ": " + message);
    }
  }

  void layout_packs_experts_and_aligns() {
    const auto model = Model::load(fixture("normtopk-bf16-sharded"));
    const WeightLayout layout = plan_weight_layout(model->weights());
    for (const UploadCopy& c : layout.copies) QCOMPARE(c.offset % arena_alignment, std::size_t(0));
    const LayerSlots& moe = layout.layers[model->config().moe_layers().front()];
    QVERIFY(moe.is_moe);
    QCOMPARE(moe.experts.count, model->config().n_routed_experts);
    QCOMPARE(moe.experts.gate_stride % arena_alignment, std::size_t(0));
    QVERIFY(moe.experts.gate_stride >= moe.experts.first.gate.bytes());
    // Expert e's copy lands at first + e * stride.
    const auto& w = model->weights().layers[model->config().moe_layers().front()];
    for (const UploadCopy& c : layout.copies)
      for (int e = 0; e < moe.experts.count; ++e)
        if (c.host == w.experts[e].up.data)
          QCOMPARE(c.offset, moe.experts.first.up.offset + e * moe.experts.up_stride);
    QVERIFY(layout.bytes >= layout.copies.back().offset + layout.copies.back().bytes);
  }

  void tied_embedding_uploaded_once() {
    const auto model = Model::load(fixture("normtopk-bf16-sharded"));  // tie_word_embeddings
    const WeightLayout layout = plan_weight_layout(model->weights());
    QCOMPARE(layout.lm_head.offset, layout.embed.offset);
    int copies_of_embed = 0;
    for (const UploadCopy& c : layout.copies)
      copies_of_embed += c.host == model->weights().embed.data;
    QCOMPARE(copies_of_embed, 1);
    QVERIFY(largest_16bit_matrix(layout) > 0);
  }

  void scratch_fits_every_k() {
    const auto model = Model::load(fixture("olmoe-f16"));
    const ModelConfig& c = model->config();
    const ScratchPlan p = plan_scratch(c, 1000);
    QCOMPARE(p.widen_elems, std::int64_t(1000));
    for (int b = 1; b < buffer_count; ++b) QVERIFY(p.offset[b] >= p.offset[b - 1] + p.size[b - 1]);
    for (int k = 1; k <= c.n_routed_experts; ++k) {
      const int chunk = tokens_per_chunk(p, k);
      QVERIFY(chunk >= 1 && chunk <= p.tokens);
      QVERIFY(chunk * k <= p.max_slots);
      // The records of a chunk fit the buffer.
      const RecordLayout r{c.n_routed_experts, k};
      QVERIFY(std::size_t(chunk) * c.num_moe_layers() * r.words() * 4 <=
              p.size_of(Buffer::records));
    }
  }

  void memory_shortfall_names_the_numbers() {
    const auto model = Model::load(fixture("olmoe-f16"));
    const ModelConfig& c = model->config();
    const DeviceMemoryNeed need = device_memory_need(c, 3ull << 30, plan_scratch(c, 0));
    QCOMPARE(need.weights, 3ull << 30);
    const std::string message =
        engine_error_of([&] { require_device_memory("big", c, need, 1ull << 30, "Test GPU"); });
    QVERIFY_CONTAINS(message, "big: the CUDA backend needs");
    QVERIFY_CONTAINS(message, "3.00 GiB of weights");
    QVERIFY_CONTAINS(message, "Test GPU has 1.00 GiB free");
    require_device_memory("big", c, need, need.total(), "Test GPU");  // exactly enough
  }

  void records_read_back_into_traces() {
    const RecordLayout r{4, 2};
    QCOMPARE(r.words(), 4 + 2 * 2 + 2);
    std::vector<std::uint32_t> words(2 * 2 * r.words(), 0);       // 2 tokens, 2 MoE layers
    std::uint32_t* rec = words.data() + (1 * 2 + 1) * r.words();  // token 1, MoE layer 1
    for (int e = 0; e < 4; ++e) rec[e] = word_of(0.1f * e);
    rec[r.ids()] = 3;
    rec[r.ids() + 1] = 2;
    rec[r.weights()] = word_of(0.6f);
    rec[r.weights() + 1] = word_of(0.4f);
    rec[r.shared_gate()] = word_of(0.25f);
    rec[r.mask_changed()] = 1;
    const std::vector<LayerFacts> layers{{1, true, true}, {3, false, true}};
    TokenRouting trace;
    read_routing(words, r, layers, 1, trace);
    QCOMPARE(trace.layers.size(), std::size_t(2));
    const LayerRouting& l = trace.layers[1];
    QCOMPARE(l.layer, 3);
    QCOMPARE(l.expert_ids, (std::vector<int>{3, 2}));
    QCOMPARE(l.gate_weights, (std::vector<float>{0.6f, 0.4f}));
    QCOMPARE(l.scores[2], 0.2f);
    QCOMPARE(l.shared_gate, 0.25f);
    QVERIFY(!l.shared_active);
    QVERIFY(l.mask_changed);
    QVERIFY(!trace.layers[0].mask_changed);
    // Without a gated shared expert the weight is 1, whatever the record holds.
    const std::vector<LayerFacts> ungated{{1, true, false}, {3, true, false}};
    read_routing(words, r, ungated, 1, trace);
    QCOMPARE(trace.layers[1].shared_gate, 1.0f);
  }

  void route_params_follow_the_cpu_rules() {
    ModelConfig c;
    c.num_hidden_layers = 3;
    c.n_routed_experts = 8;
    c.num_experts_per_tok = 2;
    c.norm_topk_prob = true;
    c.norm_single_expert = false;  // DeepSeek
    Interventions iv;
    QVERIFY(route_params(c, iv).normalize);
    iv.top_k = 1;
    const RouteParams one = route_params(c, iv);
    QCOMPARE(one.k, 1);
    QVERIFY(one.k_overridden);
    QVERIFY(!one.normalize);  // a single expert keeps its raw probability
    c.norm_single_expert = true;
    QVERIFY(route_params(c, iv).normalize);
  }

  void mask_and_graph_key() {
    ModelConfig c;
    c.num_hidden_layers = 3;
    c.n_routed_experts = 4;
    c.num_experts_per_tok = 2;
    c.n_shared_experts = 1;
    Interventions iv;
    iv.disabled_experts = {{1, 2}, {Interventions::all_layers, 0}};
    const std::vector<std::uint8_t> mask = expert_mask(c, iv);
    QCOMPARE(mask, (std::vector<std::uint8_t>{1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0}));
    const DecodeGraphKey plain = decode_graph_key(c, {}, false);
    // The mask lives in device memory: no new capture for it.
    QVERIFY(decode_graph_key(c, iv, false) == plain);
    QVERIFY(!(decode_graph_key(c, {}, true) == plain));
    Interventions shared_off;
    shared_off.disabled_shared = {2};
    QVERIFY(!(decode_graph_key(c, shared_off, false) == plain));
    Interventions k3;
    k3.top_k = 3;
    QVERIFY(!(decode_graph_key(c, k3, false) == plain));
    Interventions top;
    top.disable_top_scoring = 1;
    QVERIFY(!(decode_graph_key(c, top, false) == plain));
  }

  void experts_grouped_in_token_order() {
    // 3 tokens, k = 2: slots (t0: 2, 0), (t1: 0, 1), (t2: 2, -1).
    const std::vector<int> ids{2, 0, 0, 1, 2, -1};
    const ExpertGroups g = group_by_expert(ids, 2, 3);
    QCOMPARE(g.offsets, (std::vector<int>{0, 2, 3, 5}));
    QCOMPARE(g.sorted_slots, (std::vector<int>{1, 2, 3, 0, 4}));
    QCOMPARE(g.source_tokens, (std::vector<int>{0, 1, 1, 0, 2}));
    // One tile per expert that has positions, then the unused ones up to the bound.
    QCOMPARE(max_group_tiles(6, 3), 4);
    QCOMPARE(g.tiles, (std::vector<int>{0, 0, 1, 2, 2, 3, -1, 0}));
    QVERIFY(use_grouped_gemv(6, 64));
    QVERIFY(!use_grouped_gemv(65, 64));
  }

  void a_large_group_takes_several_tiles_within_the_bound() {
    // 150 tokens, k = 2: expert 0 gets every token's first slot (150 positions: three
    // tiles, the last partial), expert 1..4 the second slots in turn.
    const int tokens = 150, k = 2, experts = 5;
    std::vector<int> ids;
    for (int t = 0; t < tokens; ++t) ids.insert(ids.end(), {0, 1 + t % 4});
    const ExpertGroups g = group_by_expert(ids, k, experts);
    const int bound = max_group_tiles(tokens * k, experts);
    QCOMPARE(int(g.tiles.size()), 2 * bound);
    std::vector<int> used;
    for (int t = 0; t < bound; ++t)
      if (g.tiles[2 * t] >= 0) used.push_back(g.tiles[2 * t + 1]);
    QCOMPARE(used, (std::vector<int>{0, 64, 128, 150, 188, 226, 263}));
    // Every position in exactly one tile of its own expert.
    for (int t = 0; t < bound; ++t) {
      const int e = g.tiles[2 * t];
      if (e < 0) continue;
      QVERIFY(g.tiles[2 * t + 1] >= g.offsets[e] && g.tiles[2 * t + 1] < g.offsets[e + 1]);
    }
  }
};

QTEST_GUILESS_MAIN(TestCudaPlan)
#include "test_cuda_plan.moc"
