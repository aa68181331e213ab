#pragma once
// Run-time routing interventions: experts switched off and the number of
// active experts overridden. They change routing, never the model's weights.
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace moescope {

struct ModelConfig;

struct Interventions {
  static constexpr int all_layers = -1;

  std::set<std::pair<int, int>> disabled_experts;  // (layer or all_layers, routed expert id)
  std::set<int> disabled_shared;                   // layers (or all_layers) without shared experts
  std::optional<int> top_k;                        // overrides num_experts_per_tok

  bool expert_disabled(int layer, int expert) const {
    return disabled_experts.count({layer, expert}) || disabled_experts.count({all_layers, expert});
  }
  bool shared_disabled(int layer) const {
    return disabled_shared.count(layer) || disabled_shared.count(all_layers);
  }
  bool empty() const { return disabled_experts.empty() && disabled_shared.empty() && !top_k; }

  // Throws EngineError naming the bad value: a layer that is not an MoE layer,
  // an expert id out of range, k outside [1, n_routed_experts], or so many
  // experts disabled in a layer that fewer than k remain.
  void validate(const ModelConfig& config) const;
};

// Parses the CLI spellings: "L:E,L:E" with L a layer or "all"; shared "L,L" or "all".
// Throws EngineError on malformed text.
void parse_disabled_experts(const std::string& text, Interventions& out);
void parse_disabled_shared(const std::string& text, Interventions& out);

}  // namespace moescope
