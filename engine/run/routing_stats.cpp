#include "run/routing_stats.h"

#include <map>

namespace moescope {

std::vector<LayerLoad> expert_load(const std::vector<TokenRouting>& tokens, int n_routed_experts,
                                   TokenFilter filter) {
  std::map<int, LayerLoad> by_layer;
  for (const TokenRouting& token : tokens) {
    if ((filter == TokenFilter::prompt && !token.is_prompt) ||
        (filter == TokenFilter::generated && token.is_prompt))
      continue;
    for (const LayerRouting& routing : token.layers) {
      LayerLoad& load = by_layer[routing.layer];
      if (load.counts.empty()) {
        load.layer = routing.layer;
        load.counts.assign(n_routed_experts, 0);
        load.gate_weight.assign(n_routed_experts, 0.0);
      }
      ++load.tokens;
      load.mask_changed += routing.mask_changed;
      for (std::size_t j = 0; j < routing.expert_ids.size(); ++j) {
        ++load.counts[routing.expert_ids[j]];
        // ids_only records (a served model) have no weights: they add nothing, not zeros.
        if (routing.detail == RoutingDetail::full)
          load.gate_weight[routing.expert_ids[j]] += routing.gate_weights[j];
      }
    }
  }
  std::vector<LayerLoad> out;
  for (auto& [layer, load] : by_layer) out.push_back(std::move(load));
  return out;
}

}  // namespace moescope
