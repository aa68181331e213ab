#pragma once
// Run-time routing interventions: experts switched off and the number of
// active experts overridden. They change routing, never the model's weights.
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace moescope {

struct ModelConfig;

struct Interventions {
  static constexpr int all_layers = -1;

  std::set<std::pair<int, int>> disabled_experts;  // (layer or all_layers, routed expert id)
  std::set<int> disabled_shared;                   // layers (or all_layers) without shared experts
  std::optional<int> top_k;                        // overrides num_experts_per_tok
  // The m highest-scoring routed experts of every token are out of reach, as in
  // the DeepSeekMoE paper's redundancy test (Fig. 4). Used by the experiments.
  int disable_top_scoring = 0;
  // DeepSeek-V3: experts selected by the raw scores, without e_score_correction_bias (the
  // gate weights come from the raw scores either way).
  bool select_without_bias = false;
  // Group routing (DeepSeek-V2 group_limited_greedy, V3 noaux_tc): every group reachable.
  bool no_group_limit = false;

  bool expert_disabled(int layer, int expert) const {
    return disabled_experts.count({layer, expert}) || disabled_experts.count({all_layers, expert});
  }
  bool shared_disabled(int layer) const {
    return disabled_shared.count(layer) || disabled_shared.count(all_layers);
  }
  bool operator==(const Interventions&) const = default;
  bool empty() const {
    return disabled_experts.empty() && disabled_shared.empty() && !top_k && !disable_top_scoring &&
           !select_without_bias && !no_group_limit;
  }

  // Which routed experts the gate may pick for one token of `layer`, given its
  // selection scores. Empty when every expert may be picked.
  std::vector<bool> selectable(int layer, std::span<const float> scores) const;

  // Throws EngineError naming the bad value: a layer that is not an MoE layer,
  // an expert id out of range, k outside [1, n_routed_experts], or so many
  // experts disabled in a layer (counting disable_top_scoring) that fewer than k remain;
  // select_without_bias without a score bias, no_group_limit without group routing.
  void validate(const ModelConfig& config) const;
};

// Parses the CLI spellings: "L:E,L:E" with L a layer or "all"; shared "L,L" or "all".
// Throws EngineError on malformed text.
void parse_disabled_experts(const std::string& text, Interventions& out);
void parse_disabled_shared(const std::string& text, Interventions& out);

}  // namespace moescope
