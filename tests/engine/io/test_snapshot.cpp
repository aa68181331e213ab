// Routing snapshots: exact round trips, one rejection per kind of malformed
// file, and atomic writes that never damage the previous file.
#include <sys/stat.h>

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QMap>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "io/snapshot.h"

using namespace moescope;
using nlohmann::json;

namespace {

// A small DeepSeekMoE: 4 layers, layer 0 dense, MoE layers 1..3, top-2 of 8.
json tiny_config() {
  return json::parse(R"({
    "architectures": ["DeepseekForCausalLM"], "model_type": "deepseek",
    "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4,
    "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
    "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
    "hidden_act": "silu", "attention_bias": false,
    "n_routed_experts": 8, "n_shared_experts": 2, "num_experts_per_tok": 2,
    "moe_intermediate_size": 32, "first_k_dense_replace": 1, "moe_layer_freq": 1,
    "norm_topk_prob": false, "scoring_func": "softmax"
  })");
}

// Routing as the gate would produce it: softmax scores, top-k among the
// experts left on, mask_changed when a switched-off expert would have won.
LayerRouting route(int layer, int position, int k, const Interventions& interventions) {
  LayerRouting out;
  out.layer = layer;
  std::vector<float> logits(8);
  for (int e = 0; e < 8; ++e) logits[e] = std::sin(1.7f * layer + 0.9f * e + 2.3f * position);
  float sum = 0;
  for (float l : logits) sum += std::exp(l);
  for (float l : logits) out.scores.push_back(std::exp(l) / sum);

  std::vector<int> order(8);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return out.scores[a] > out.scores[b]; });
  for (int e : order) {
    if (static_cast<int>(out.expert_ids.size()) == k) break;
    if (interventions.expert_disabled(layer, e)) continue;
    out.expert_ids.push_back(e);
    out.gate_weights.push_back(out.scores[e]);
  }
  out.mask_changed = !std::equal(out.expert_ids.begin(), out.expert_ids.end(), order.begin());
  out.shared_active = !interventions.shared_disabled(layer);
  return out;
}

RoutingSnapshot sample_snapshot() {
  RoutingSnapshot s;
  s.model_name = "deepseek-tiny";
  s.model_path = "/models/deepseek-tiny";
  s.model_config = tiny_config();
  s.backend = "cpu";
  s.created_at = "2024-05-01T12:34:56Z";
  s.prompt = "The cat";
  s.generated_text = " sat on the mat ☕";
  s.sampling = {0.7f, 0.9f, 0xFFFF'FFFF'FFFF'FFF0ull, 16};  // seed beyond int64
  s.interventions.disabled_experts = {{Interventions::all_layers, 3}, {2, 5}};
  s.interventions.disabled_shared = {Interventions::all_layers, 2};
  s.interventions.top_k = 3;
  const std::vector<std::string> pieces = {"The", " cat", " sat", " on", " the", " mat", " ☕"};
  for (int i = 0; i < static_cast<int>(pieces.size()); ++i) {
    SnapshotToken token{pieces[i], {}};
    token.routing.position = i;
    token.routing.token_id = 10 + 7 * i;
    token.routing.is_prompt = i < 2;
    for (int layer = 1; layer < 4; ++layer)
      token.routing.layers.push_back(route(layer, i, 3, s.interventions));
    s.tokens.push_back(token);
  }
  return s;
}

void compare_layers(const LayerRouting& actual, const LayerRouting& expected) {
  QCOMPARE(actual.layer, expected.layer);
  QVERIFY(actual.scores == expected.scores);  // bit-exact: floats survive the text
  QVERIFY(actual.expert_ids == expected.expert_ids);
  QVERIFY(actual.gate_weights == expected.gate_weights);
  QCOMPARE(actual.shared_active, expected.shared_active);
  QCOMPARE(actual.mask_changed, expected.mask_changed);
  QCOMPARE(actual.shared_gate, expected.shared_gate);
  QVERIFY(actual.detail == expected.detail);
  QVERIFY(actual.selection_scores == expected.selection_scores);
  QVERIFY(actual.groups == expected.groups);
}

// The same run as a served model reports it: expert ids only, the last token without routing
// (servers do not run the last sampled token through the model), cut short by a dropped stream.
RoutingSnapshot ids_only_snapshot() {
  RoutingSnapshot s = sample_snapshot();
  s.backend = "sglang";
  s.interventions = {};
  s.routing_detail = RoutingDetail::ids_only;
  s.incomplete = "the connection dropped after 7 tokens";
  for (SnapshotToken& token : s.tokens)
    for (LayerRouting& layer : token.routing.layers) {
      layer.scores.clear();
      layer.gate_weights.clear();
      layer.mask_changed = false;
      layer.shared_active = true;
      layer.detail = RoutingDetail::ids_only;
    }
  s.tokens.back().routing.layers.clear();
  return s;
}

// The same run as from a Qwen2-MoE (layer 0 dense by mlp_only_layers, so the MoE layers
// are 1..3 as above), whose shared expert is weighted by a sigmoid gate per token.
RoutingSnapshot gated_shared_snapshot() {
  RoutingSnapshot s = sample_snapshot();
  s.model_config = json::parse(R"({
    "architectures": ["Qwen2MoeForCausalLM"], "model_type": "qwen2_moe",
    "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4,
    "max_position_embeddings": 512, "num_experts": 8, "num_experts_per_tok": 2,
    "moe_intermediate_size": 32, "shared_expert_intermediate_size": 64,
    "decoder_sparse_step": 1, "mlp_only_layers": [0], "norm_topk_prob": false
  })");
  for (SnapshotToken& token : s.tokens)
    for (LayerRouting& layer : token.routing.layers)
      layer.shared_gate =
          0.5f + 0.4f * std::sin(1.3f * layer.layer + 0.7f * token.routing.position);
  return s;
}

// The same run as from a DeepSeek-V3 (layer 0 dense, 8 experts in 4 groups of 2, 2 kept):
// selection scores (scores + bias) and the kept groups, both version 2; the bias was
// left out when selecting (an intervention, also version 2).
RoutingSnapshot deepseek_v3_snapshot() {
  RoutingSnapshot s = sample_snapshot();
  s.model_config = json::parse(R"({
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
    "vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 4,
    "max_position_embeddings": 512, "n_routed_experts": 8, "n_shared_experts": 1,
    "num_experts_per_tok": 2, "moe_intermediate_size": 32, "first_k_dense_replace": 1,
    "n_group": 4, "topk_group": 2, "q_lora_rank": null, "kv_lora_rank": 16,
    "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8
  })");
  s.interventions = {};
  s.interventions.disabled_experts = {{2, 5}};
  s.interventions.no_group_limit = false;
  s.interventions.select_without_bias = true;
  for (SnapshotToken& token : s.tokens)
    for (LayerRouting& layer : token.routing.layers) {
      layer.selection_scores = layer.scores;
      for (std::size_t e = 0; e < layer.scores.size(); ++e)
        layer.selection_scores[e] += 0.01f * float(e) - 0.03f;
      for (int expert : layer.expert_ids) layer.groups.push_back(expert / 2);
      std::sort(layer.groups.begin(), layer.groups.end());
      layer.groups.erase(std::unique(layer.groups.begin(), layer.groups.end()), layer.groups.end());
    }
  return s;
}

// The sample run as the switched half of "Compare with experts off": beside it the
// baseline (same prompt, all experts on, one more generated token) and its KL per token.
RoutingSnapshot compared_snapshot() {
  RoutingSnapshot s = sample_snapshot();
  SnapshotComparison comparison;
  comparison.baseline_tokens = s.tokens;
  for (SnapshotToken& token : comparison.baseline_tokens) {
    token.routing.layers.clear();
    for (int layer = 1; layer < 4; ++layer)
      token.routing.layers.push_back(route(layer, token.routing.position, 2, {}));
  }
  comparison.baseline_tokens[3].routing.token_id = 99;  // the texts part here
  comparison.baseline_tokens.push_back(comparison.baseline_tokens.back());
  comparison.baseline_tokens.back().routing.position = int(s.tokens.size());
  comparison.next_token_kl = {0.0, 0.031, 1.75, 0.5};  // four of the six generated tokens
  s.comparison = comparison;
  return s;
}

void compare_token_lists(const std::vector<SnapshotToken>& actual,
                         const std::vector<SnapshotToken>& expected) {
  QCOMPARE(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const TokenRouting& a = actual[i].routing;
    const TokenRouting& e = expected[i].routing;
    QCOMPARE(actual[i].text, expected[i].text);
    QCOMPARE(a.position, e.position);
    QCOMPARE(a.token_id, e.token_id);
    QCOMPARE(a.is_prompt, e.is_prompt);
    QCOMPARE(a.layers.size(), e.layers.size());
    for (std::size_t l = 0; l < a.layers.size(); ++l) {
      compare_layers(a.layers[l], e.layers[l]);
      if (QTest::currentTestFailed()) return;
    }
  }
}

void compare_snapshots(const RoutingSnapshot& actual, const RoutingSnapshot& expected) {
  QCOMPARE(actual.model_name, expected.model_name);
  QCOMPARE(actual.model_path, expected.model_path);
  QVERIFY(actual.model_config == expected.model_config);
  QCOMPARE(actual.backend, expected.backend);
  QCOMPARE(actual.created_at, expected.created_at);
  QCOMPARE(actual.prompt, expected.prompt);
  QCOMPARE(actual.generated_text, expected.generated_text);
  QCOMPARE(actual.sampling.temperature, expected.sampling.temperature);
  QCOMPARE(actual.sampling.top_p, expected.sampling.top_p);
  QCOMPARE(actual.sampling.seed, expected.sampling.seed);
  QCOMPARE(actual.sampling.max_tokens, expected.sampling.max_tokens);
  QVERIFY(actual.interventions.disabled_experts == expected.interventions.disabled_experts);
  QVERIFY(actual.interventions.disabled_shared == expected.interventions.disabled_shared);
  QVERIFY(actual.interventions.top_k == expected.interventions.top_k);
  QCOMPARE(actual.interventions.select_without_bias, expected.interventions.select_without_bias);
  QCOMPARE(actual.interventions.no_group_limit, expected.interventions.no_group_limit);
  compare_token_lists(actual.tokens, expected.tokens);
  QCOMPARE(actual.comparison.has_value(), expected.comparison.has_value());
  if (!actual.comparison || QTest::currentTestFailed()) return;
  compare_token_lists(actual.comparison->baseline_tokens, expected.comparison->baseline_tokens);
  QVERIFY(actual.comparison->next_token_kl == expected.comparison->next_token_kl);
}

std::filesystem::path fs_path(const QTemporaryDir& dir, const QString& name) {
  return std::filesystem::path(dir.filePath(name).toStdString());
}

// Every file under `root` with its bytes: equal before and after a failed
// write means the old file is intact and no temporary file was left behind.
QMap<QString, QByteArray> tree(const QString& root) {
  QMap<QString, QByteArray> files;
  QDirIterator it(root, QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot,
                  QDirIterator::Subdirectories);
  while (it.hasNext()) {
    const QString path = it.next();
    QFile file(path);
    files[path] = file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray("<dir>");
  }
  return files;
}

}  // namespace

class TestSnapshot : public QObject {
  Q_OBJECT

 private slots:
  void roundTripKeepsEveryField() {
    QTemporaryDir dir;
    const RoutingSnapshot original = sample_snapshot();
    write_snapshot(original, fs_path(dir, "snap.json"));
    compare_snapshots(read_snapshot(fs_path(dir, "snap.json")), original);
  }

  void floatsSurviveBitExact() {
    // 0x15ae43fd: its shortest decimal, read as a double, rounds to its neighbour.
    const std::vector<std::uint32_t> bits = {0x15ae43fd,
                                             0x00000001 /* smallest subnormal */,
                                             0x7f7fffff /* largest */,
                                             0x3dcccccd /* 0.1 */,
                                             0x3eaaaaab /* 1/3 */,
                                             0x80000000 /* -0 */};
    RoutingSnapshot s = sample_snapshot();
    std::vector<float>& scores = s.tokens[0].routing.layers[0].scores;
    for (std::size_t i = 0; i < bits.size(); ++i) scores[i] = std::bit_cast<float>(bits[i]);
    const json text = json::parse(snapshot_to_json(s).dump());
    const std::vector<float> back =
        snapshot_from_json(text, "snap.json").tokens[0].routing.layers[0].scores;
    for (std::size_t i = 0; i < bits.size(); ++i)
      QCOMPARE(std::bit_cast<std::uint32_t>(back[i]), bits[i]);
  }

  void writesDocumentedLayout() {
    const json doc = snapshot_to_json(sample_snapshot());
    QVERIFY(doc["format"] == "moescope-routing-snapshot");
    QVERIFY(doc["version"] == 1);
    QVERIFY(doc["interventions"]["disabled_experts"][0] == json({{"layer", "all"}, {"expert", 3}}));
    QVERIFY(doc["interventions"]["disabled_shared"] == json::array({"all", 2}));
    QVERIFY(doc["sampling"]["seed"].is_number_unsigned());
    QVERIFY(doc["sampling"]["temperature"].dump() == "0.7");  // shortest form

    RoutingSnapshot no_top_k = sample_snapshot();
    no_top_k.interventions.top_k.reset();
    QVERIFY(snapshot_to_json(no_top_k)["interventions"]["top_k"].is_null());
  }

  // Selection scores, kept groups and the interventions on them: version 2, round trip exactly;
  // a snapshot without them stays version 1 (writesDocumentedLayout).
  void deepseekV3RoundTrip() {
    QTemporaryDir dir;
    const RoutingSnapshot original = deepseek_v3_snapshot();
    const json doc = snapshot_to_json(original);
    QVERIFY(doc["version"] == 2);
    QVERIFY(doc["interventions"]["select_without_bias"] == true);
    QVERIFY(!doc["interventions"].contains("no_group_limit"));
    QVERIFY(doc["tokens"][0]["layers"][0].contains("selection_scores"));
    QVERIFY(doc["tokens"][0]["layers"][0]["groups"].is_array());
    write_snapshot(original, fs_path(dir, "v3.json"));
    compare_snapshots(read_snapshot(fs_path(dir, "v3.json")), original);
  }

  void deepseekV3Rejections_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("message");
    QTest::newRow("version 1 with selection scores")
        << "version"
        << "tokens[0].layers[0].selection_scores: needs format version 2";
    QTest::newRow("selection scores, short") << "short"
                                             << "selection_scores: 7 values, expected 8";
    QTest::newRow("group out of range") << "group range"
                                        << "group 4 out of range (4 groups)";
    QTest::newRow("groups out of order") << "group order"
                                         << "groups must be listed once each";
    QTest::newRow("a chosen expert outside the groups") << "group missing"
                                                        << "is in none of these groups";
    QTest::newRow("version 1 with an intervention")
        << "intervention"
        << "interventions.select_without_bias: needs format version 2";
    QTest::newRow("selection scores on a softmax model") << "model"
                                                         << "this model's gate has no bias";
  }
  void deepseekV3Rejections() {
    QFETCH(QString, field);
    QFETCH(QString, message);
    json doc = snapshot_to_json(deepseek_v3_snapshot());
    json& layer = doc["tokens"][0]["layers"][0];
    if (field == "version") {
      doc["version"] = 1;
      doc["interventions"].erase("select_without_bias");
    } else if (field == "short") {
      layer["selection_scores"].erase(0);
    } else if (field == "group range") {
      layer["groups"] = {0, 4};
    } else if (field == "group order") {
      layer["groups"] = {layer["groups"].back(), layer["groups"].front()};
      if (layer["groups"][0] == layer["groups"][1]) layer["groups"] = {1, 1};
    } else if (field == "group missing") {
      const int kept = layer["expert_ids"][0].get<int>() / 2;
      layer["groups"] = {(kept + 1) % 4};
    } else if (field == "intervention") {
      doc["version"] = 1;
      for (json& token : doc["tokens"])
        for (json& l : token["layers"]) l.erase("selection_scores"), l.erase("groups");
    } else {
      doc["model"]["config"] = tiny_config();
      doc["interventions"].erase("select_without_bias");
    }
    try {
      snapshot_from_json(doc, "v3.json");
      QFAIL("accepted a malformed DeepSeek-V3 snapshot");
    } catch (const EngineError& e) {
      QVERIFY2(QString(e.what()).contains(message), e.what());
    }
  }

  // A comparison is optional and needs no new version: a reader that ignores it still
  // shows the switched run correctly. Its KL values survive exactly.
  void comparisonRoundTrip() {
    QTemporaryDir dir;
    const RoutingSnapshot original = compared_snapshot();
    const json doc = snapshot_to_json(original);
    QVERIFY(doc["version"] == 1);
    QCOMPARE(doc["comparison"]["baseline_tokens"].size(), original.tokens.size() + 1);
    QVERIFY(!snapshot_to_json(sample_snapshot()).contains("comparison"));
    write_snapshot(original, fs_path(dir, "compare.json"));
    compare_snapshots(read_snapshot(fs_path(dir, "compare.json")), original);
    RoutingSnapshot broken = original;
    broken.comparison->next_token_kl[1] = std::numeric_limits<double>::quiet_NaN();
    QVERIFY_THROWS_EXCEPTION(EngineError, snapshot_to_json(broken));
  }

  void comparisonRejections_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("message");
    QTest::newRow("another prompt")
        << "prompt id"
        << "comparison.baseline_tokens[1].id: the baseline's prompt differs";
    QTest::newRow("a shorter prompt") << "prompt length"
                                      << "comparison.baseline_tokens: the baseline's prompt is "
                                         "shorter";
    QTest::newRow("more KL values than tokens")
        << "kl count"
        << "comparison.next_token_kl: 7 values for 6 generated baseline tokens";
    QTest::newRow("negative KL") << "kl sign"
                                 << "comparison.next_token_kl[2]: a KL divergence is never "
                                    "negative";
    QTest::newRow("KL not a number") << "kl type"
                                     << "comparison.next_token_kl[0]: expected a number";
    QTest::newRow("expert out of range")
        << "expert"
        << "comparison.baseline_tokens[2].layers[0].expert_ids[0]: expert 8";
    QTest::newRow("no baseline") << "missing"
                                 << "comparison.baseline_tokens: required field is missing";
  }
  void comparisonRejections() {
    QFETCH(QString, field);
    QFETCH(QString, message);
    json doc = snapshot_to_json(compared_snapshot());
    json& comparison = doc["comparison"];
    json& baseline = comparison["baseline_tokens"];
    if (field == "prompt id") {
      baseline[1]["id"] = 11;
    } else if (field == "prompt length") {
      baseline[1]["is_prompt"] = false;
    } else if (field == "kl count") {
      comparison["next_token_kl"] = {0, 0, 0, 0, 0, 0, 0};
    } else if (field == "kl sign") {
      comparison["next_token_kl"][2] = -0.5;
    } else if (field == "kl type") {
      comparison["next_token_kl"][0] = "0.1";
    } else if (field == "expert") {
      baseline[2]["layers"][0]["expert_ids"][0] = 8;
    } else {
      comparison.erase("baseline_tokens");
    }
    try {
      snapshot_from_json(doc, "compare.json");
      QFAIL("accepted a malformed comparison");
    } catch (const EngineError& e) {
      QVERIFY2(QString(e.what()).contains(message), e.what());
    }
  }

  // shared_gate is an optional layer field: written only where it is not 1.
  void gatedSharedExpertRoundTrip() {
    QTemporaryDir dir;
    const RoutingSnapshot original = gated_shared_snapshot();
    write_snapshot(original, fs_path(dir, "snap.json"));
    compare_snapshots(read_snapshot(fs_path(dir, "snap.json")), original);
    QVERIFY(snapshot_to_json(original)["tokens"][0]["layers"][0].contains("shared_gate"));
    QVERIFY(!snapshot_to_json(sample_snapshot())["tokens"][0]["layers"][0].contains("shared_gate"));

    json doc = snapshot_to_json(original);
    doc["tokens"][1]["layers"][2]["shared_gate"] = 1.5;
    try {
      snapshot_from_json(doc, "snap.json");
      QFAIL("accepted a shared gate above 1");
    } catch (const EngineError& e) {
      QVERIFY2(QString(e.what()).contains("tokens[1].layers[2].shared_gate: a shared expert gate "
                                          "is a sigmoid, in [0, 1]"),
               e.what());
    }
  }

  // ids_only: no scores or weights in the file (absent, not zeros), said once at the top.
  void idsOnlyRoundTrip() {
    QTemporaryDir dir;
    const RoutingSnapshot original = ids_only_snapshot();
    write_snapshot(original, fs_path(dir, "snap.json"));
    const RoutingSnapshot back = read_snapshot(fs_path(dir, "snap.json"));
    compare_snapshots(back, original);
    QVERIFY(back.routing_detail == RoutingDetail::ids_only);
    QCOMPARE(back.incomplete, original.incomplete);

    const json doc = snapshot_to_json(original);
    QVERIFY(doc["routing"] == "ids_only");
    QVERIFY(doc["incomplete"] == original.incomplete);
    QVERIFY(!doc["tokens"][0]["layers"][0].contains("scores"));
    QVERIFY(!doc["tokens"][0]["layers"][0].contains("gate_weights"));
    const json full = snapshot_to_json(sample_snapshot());
    QVERIFY(!full.contains("routing") && !full.contains("incomplete"));
    QVERIFY(read_snapshot(fs_path(dir, "snap.json")).tokens[0].routing.layers[0].scores.empty());
  }

  void idsOnlyRejectsScoresAndMixedRecords() {
    json doc = snapshot_to_json(ids_only_snapshot());
    doc["tokens"][1]["layers"][0]["scores"] = json::array({0.5, 0.5});
    try {
      snapshot_from_json(doc, "snap.json");
      QFAIL("accepted scores in an ids_only snapshot");
    } catch (const EngineError& e) {
      QVERIFY2(QString(e.what()).contains("tokens[1].layers[0].scores: an ids_only snapshot"),
               e.what());
    }
    doc = snapshot_to_json(ids_only_snapshot());
    doc["routing"] = "partial";
    QVERIFY_THROWS_EXCEPTION(EngineError, snapshot_from_json(doc, "snap.json"));
    doc["routing"] = "ids_only";
    doc["incomplete"] = "";
    QVERIFY_THROWS_EXCEPTION(EngineError, snapshot_from_json(doc, "snap.json"));

    RoutingSnapshot mixed = ids_only_snapshot();
    mixed.tokens[2].routing.layers[1].detail = RoutingDetail::full;
    try {
      snapshot_to_json(mixed);
      QFAIL("wrote a full record into an ids_only snapshot");
    } catch (const EngineError& e) {
      QVERIFY2(QString(e.what()).contains(
                   "tokens[2].layers[1]: a full record in a snapshot whose routing is ids_only"),
               e.what());
    }
  }

  void rejectsMalformed_data() {
    // Each row edits one JSON pointer of a valid file ("" value = remove it).
    QTest::addColumn<QString>("pointer");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("message");
    QTest::newRow("wrong format string")
        << "/format"
        << R"("moescope-trace")"
        << R"(snap.json: format: expected "moescope-routing-snapshot")";
    QTest::newRow("newer version")
        << "/version"
        << "3"
        << "snap.json: version: version 3 was written by a newer moescope; this moescope reads "
           "version 2";
    QTest::newRow("missing tokens") << "/tokens"
                                    << ""
                                    << "snap.json: tokens: required field";
    QTest::newRow("expert id out of range")
        << "/tokens/3/layers/0/expert_ids/1"
        << "70"
        << "snap.json: tokens[3].layers[0].expert_ids[1]: expert 70 out of range (8 routed "
           "experts)";
    QTest::newRow("scores wrong length")
        << "/tokens/0/layers/1/scores"
        << "[0.5, 0.5]"
        << "snap.json: tokens[0].layers[1].scores: 2 values, expected 8";
    QTest::newRow("dense layer referenced")
        << "/tokens/0/layers/0/layer"
        << "0"
        << "snap.json: tokens[0].layers[0].layer: layer 0 is not an MoE layer";
    QTest::newRow("non-increasing positions")
        << "/tokens/2/position"
        << "1"
        << "snap.json: tokens[2].position: position 1 after position 1";
    QTest::newRow("bad config") << "/model/config/num_hidden_layers"
                                << R"("four")"
                                << "snap.json: model.config";
    QTest::newRow("config not an object")
        << "/model/config"
        << "3"
        << "snap.json: model.config: expected the config.json object";
    QTest::newRow("weights and ids differ")
        << "/tokens/0/layers/0/gate_weights"
        << "[0.5]"
        << "snap.json: tokens[0].layers[0].gate_weights: 1 weights for 3 expert_ids";
    QTest::newRow("score beyond float")
        << "/tokens/0/layers/0/scores/2"
        << "1e300"
        << "snap.json: tokens[0].layers[0].scores[2]: number out of the range of a 32-bit float";
    QTest::newRow("expert chosen twice")
        << "/tokens/0/layers/0/expert_ids"
        << "[4, 4, 1]"
        << "snap.json: tokens[0].layers[0].expert_ids[1]: expert 4 chosen twice";
    QTest::newRow("layers out of order")
        << "/tokens/0/layers/1/layer"
        << "1"
        << "snap.json: tokens[0].layers[1].layer: layers must be listed once each";
    QTest::newRow("token id out of range") << "/tokens/0/id"
                                           << "256"
                                           << "snap.json: tokens[0].id: token id 256 out of range";
    QTest::newRow("negative token id")
        << "/tokens/4/id"
        << "-1"
        << "snap.json: tokens[4].id: token id -1 out of range (vocabulary of 256)";
    QTest::newRow("wrong type") << "/prompt"
                                << "5"
                                << "snap.json: prompt: expected a string, got number";
    QTest::newRow("negative seed") << "/sampling/seed"
                                   << "-1"
                                   << "snap.json: sampling.seed: expected a non-negative integer";
    QTest::newRow("bad timestamp") << "/created_at"
                                   << R"("yesterday")"
                                   << "snap.json: created_at: \"yesterday\" is not an ISO-8601";
    QTest::newRow("timestamp with a 100 000-digit fraction")
        << "/created_at" << QString("\"2024-05-01T12:34:56.%1Zx\"").arg(QString(100000, '1'))
        << "snap.json: created_at: \"2024-05-01T12:34:56.111";
    QTest::newRow("timestamp without Z") << "/created_at"
                                         << R"("2024-05-01T12:34:56")"
                                         << "is not an ISO-8601";
    QTest::newRow("bad layer reference")
        << "/interventions/disabled_shared/0"
        << R"("every")"
        << R"(snap.json: interventions.disabled_shared[0]: expected a layer index or "all")";
    QTest::newRow("intervention out of range") << "/interventions/disabled_experts/0/expert"
                                               << "9"
                                               << "snap.json: interventions: ";
    QTest::newRow("shared gate on an ungated model")
        << "/tokens/0/layers/0/shared_gate"
        << "0.5"
        << "snap.json: tokens[0].layers[0].shared_gate: this model's shared experts have no gate";
    QTest::newRow("not an object") << ""
                                   << "[]"
                                   << "snap.json: top level: expected an object";
  }

  void rejectsMalformed() {
    QFETCH(QString, pointer);
    QFETCH(QString, value);
    QFETCH(QString, message);
    json doc = snapshot_to_json(sample_snapshot());
    const json::json_pointer at(pointer.toStdString());
    if (value.isEmpty())
      doc[at.parent_pointer()].erase(at.back());
    else
      doc[at] = json::parse(value.toStdString());
    try {
      snapshot_from_json(doc, "snap.json");
      QFAIL("accepted a malformed snapshot");
    } catch (const EngineError& e) {
      QVERIFY2(QString::fromStdString(e.what()).contains(message), e.what());
    }
  }

  void readRejectsUnreadableFiles() {
    QTemporaryDir dir;
    QVERIFY_THROWS_EXCEPTION(EngineError, read_snapshot(fs_path(dir, "absent.json")));
    std::ofstream(fs_path(dir, "broken.json")) << "{\"format\": ";
    try {
      read_snapshot(fs_path(dir, "broken.json"));
      QFAIL("accepted a truncated file");
    } catch (const EngineError& e) {
      QVERIFY2(QString::fromStdString(e.what()).contains("broken.json: not valid JSON"), e.what());
    }
  }

  // A document nested 200 000 deep is refused where it is parsed, before any code that
  // recurses over it (writing the snapshot back, dump()) could overflow the stack.
  void readRefusesDeepNesting() {
    QTemporaryDir dir;
    std::ofstream(fs_path(dir, "deep.json"))
        << "{\"format\": " << std::string(200000, '[') << std::string(200000, ']') << "}";
    try {
      read_snapshot(fs_path(dir, "deep.json"));
      QFAIL("accepted");
    } catch (const EngineError& e) {
      QVERIFY2(
          QString::fromStdString(e.what()).contains("deep.json: nested deeper than 128 levels"),
          e.what());
    }
  }

  // A score of 1e400 fails in the parser (nlohmann's out_of_range 406, no place given);
  // the message still names the file and the field.
  void readNamesTheFieldOfAnOverflowingNumber() {
    QTemporaryDir dir;
    json doc = snapshot_to_json(sample_snapshot());
    doc["tokens"][3]["layers"][1]["scores"][2] = "OVERFLOW";
    std::string text = doc.dump();
    text.replace(text.find("\"OVERFLOW\""), 10, "1e400");
    std::ofstream(fs_path(dir, "big.json")) << text;
    const QString message = QString::fromStdString([&] {
      try {
        read_snapshot(fs_path(dir, "big.json"));
      } catch (const EngineError& e) {
        return std::string(e.what());
      }
      return std::string("accepted");
    }());
    QVERIFY2(
        message.contains("big.json: not valid JSON: ") &&
            message.contains("number overflow parsing '1e400' (at tokens[3].layers[1].scores[2])"),
        qPrintable(message));
  }

  // A FIFO or a folder given as the snapshot is refused at once, not read (a FIFO blocked).
  void readRefusesWhatIsNotAFile() {
    QTemporaryDir dir;
    QCOMPARE(::mkfifo(fs_path(dir, "fifo.json").c_str(), 0600), 0);
    QDir(dir.path()).mkdir("folder.json");
    for (const char* name : {"fifo.json", "folder.json"}) {
      try {
        read_snapshot(fs_path(dir, name));
        QFAIL("accepted");
      } catch (const EngineError& e) {
        QVERIFY2(QString(e.what()).endsWith(QString(name) + ": not a regular file"), e.what());
      }
    }
  }

  void replacesSplitUtf8InTokenText() {
    QTemporaryDir dir;
    RoutingSnapshot s = sample_snapshot();
    s.tokens[6].text = "\xE2\x98";  // first two bytes of "☕": the rest is in the next token
    write_snapshot(s, fs_path(dir, "snap.json"));
    const std::string text = read_snapshot(fs_path(dir, "snap.json")).tokens[6].text;
    QVERIFY(text.find("\xEF\xBF\xBD") != std::string::npos);  // U+FFFD
  }

  void failedWriteLeavesTargetUntouched_data() {
    QTest::addColumn<QString>("target");
    QTest::addColumn<bool>("targetIsDirectory");  // the final rename fails
    QTest::addColumn<bool>("nanScore");           // fails before anything is written
    QTest::newRow("rename onto a directory") << "snap.json" << true << false;
    QTest::newRow("directory does not exist") << "missing/snap.json" << false << false;
    QTest::newRow("NaN score") << "snap.json" << false << true;
  }

  void failedWriteLeavesTargetUntouched() {
    QFETCH(QString, target);
    QFETCH(bool, targetIsDirectory);
    QFETCH(bool, nanScore);
    QTemporaryDir dir;
    RoutingSnapshot s = sample_snapshot();
    // The previous file: the target itself, or inside it when it is a directory.
    if (targetIsDirectory) QVERIFY(QDir(dir.path()).mkdir("snap.json"));
    write_snapshot(s, fs_path(dir, targetIsDirectory ? "snap.json/keep.json" : "snap.json"));
    const QMap<QString, QByteArray> before = tree(dir.path());

    s.prompt = "a newer run";
    if (nanScore) s.tokens[1].routing.layers[0].scores[4] = std::numeric_limits<float>::quiet_NaN();
    try {
      write_snapshot(s, fs_path(dir, target));
      QFAIL("the write should have failed");
    } catch (const EngineError& e) {
      QVERIFY2(QString::fromStdString(e.what()).contains(dir.filePath(target)), e.what());
    }
    QVERIFY(tree(dir.path()) == before);
  }

  void writeReplacesExistingFile() {
    QTemporaryDir dir;
    RoutingSnapshot s = sample_snapshot();
    write_snapshot(s, fs_path(dir, "snap.json"));
    s.prompt = "a newer run";
    write_snapshot(s, fs_path(dir, "snap.json"));
    QCOMPARE(read_snapshot(fs_path(dir, "snap.json")).prompt, s.prompt);
    QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
             QStringList{"snap.json"});
  }
};

QTEST_GUILESS_MAIN(TestSnapshot)
#include "test_snapshot.moc"
