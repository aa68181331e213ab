#pragma once
// A small synthetic run with known routing for the UI suites: 4 layers
// (layer 0 dense, so MoE layers 1..3), 8 routed experts, top-2, 2 shared.
#include <string>
#include <vector>

#include "io/snapshot.h"

namespace synthetic {

constexpr int experts = 8;
constexpr int topK = 2;
constexpr int promptTokens = 3;
inline const std::vector<int> moeLayers = {1, 2, 3};

inline moescope::RoutingSnapshot header() {
  moescope::RoutingSnapshot snapshot;
  snapshot.model_name = "synthetic";
  snapshot.model_config = nlohmann::json::parse(R"({
    "model_type": "deepseek", "architectures": ["DeepseekForCausalLM"],
    "vocab_size": 100, "hidden_size": 16, "intermediate_size": 32,
    "num_hidden_layers": 4, "num_attention_heads": 2, "rms_norm_eps": 1e-6,
    "n_routed_experts": 8, "n_shared_experts": 2, "num_experts_per_tok": 2,
    "moe_intermediate_size": 8, "first_k_dense_replace": 1, "moe_layer_freq": 1})");
  snapshot.prompt = "The fox";
  return snapshot;
}

// Token t at layer l chooses experts (t + l) % 8 then (3t + l + 1) % 8 (never equal).
inline moescope::SnapshotToken token(int t) {
  static const char* const pieces[] = {"The", " fox", ",", " it", " said", "\n", " \"hi\"", " go"};
  moescope::SnapshotToken token;
  token.text = pieces[t % 8];
  token.routing.position = t;
  token.routing.token_id = 10 + t;
  token.routing.is_prompt = t < promptTokens;
  for (int layer : moeLayers) {
    moescope::LayerRouting routing;
    routing.layer = layer;
    routing.expert_ids = {(t + layer) % experts, (3 * t + layer + 1) % experts};
    routing.gate_weights = {0.5f + 0.125f * float(t % 3), 0.25f};
    routing.scores.assign(experts, 0.03125f);
    routing.scores[routing.expert_ids[0]] = routing.gate_weights[0];
    routing.scores[routing.expert_ids[1]] = routing.gate_weights[1];
    routing.mask_changed = layer == 2 && t == 4;
    routing.shared_active = layer != 3;
    token.routing.layers.push_back(routing);
  }
  return token;
}

inline std::vector<moescope::SnapshotToken> tokens(int first, int count) {
  std::vector<moescope::SnapshotToken> out;
  for (int t = first; t < first + count; ++t) out.push_back(token(t));
  return out;
}

}  // namespace synthetic
