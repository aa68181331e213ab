#pragma once
// Aggregates of per-token routing: how many tokens each expert received in
// each MoE layer. Used by the CLI summary, the heatmaps and the experiments.
#include <vector>

#include "run/routing.h"

namespace moescope {

enum class TokenFilter { all, prompt, generated };

struct LayerLoad {
  int layer = 0;
  int tokens = 0;                   // tokens routed through this layer
  int mask_changed = 0;             // tokens whose choice a mask changed
  std::vector<int> counts;          // [n_routed_experts] tokens that chose the expert
  std::vector<double> gate_weight;  // [n_routed_experts] summed gate weights (of full records)
};

// One entry per MoE layer present in the traces, in layer order.
std::vector<LayerLoad> expert_load(const std::vector<TokenRouting>& tokens, int n_routed_experts,
                                   TokenFilter filter = TokenFilter::all);

}  // namespace moescope
