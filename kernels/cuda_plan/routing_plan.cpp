#include "cuda_plan/routing_plan.h"

namespace moescope::cuda_plan {

RouteParams route_params(const ModelConfig& c, const Interventions& iv) {
  RouteParams p;
  p.n_experts = c.n_routed_experts;
  p.k_default = c.num_experts_per_tok;
  p.k = iv.top_k.value_or(c.num_experts_per_tok);
  p.k_overridden = iv.top_k.has_value();
  p.disable_top_scoring = iv.disable_top_scoring;
  // As the CPU backend: DeepSeek leaves a single expert's raw probability alone.
  p.normalize = c.norm_topk_prob && (p.k > 1 || c.norm_single_expert);
  return p;
}

std::vector<std::uint8_t> expert_mask(const ModelConfig& c, const Interventions& iv) {
  const int n = c.n_routed_experts;
  std::vector<std::uint8_t> mask(std::size_t(c.num_hidden_layers) * n, 0);
  for (int layer = 0; layer < c.num_hidden_layers; ++layer)
    for (int e = 0; e < n; ++e) mask[std::size_t(layer) * n + e] = iv.expert_disabled(layer, e);
  return mask;
}

std::vector<LayerFacts> moe_layer_facts(const ModelConfig& c, const Interventions& iv) {
  std::vector<LayerFacts> facts;
  for (int layer : c.moe_layers())
    facts.push_back(
        {layer, c.n_shared_experts > 0 && !iv.shared_disabled(layer), c.shared_expert_gated});
  return facts;
}

DecodeGraphKey decode_graph_key(const ModelConfig& c, const Interventions& iv, bool keep_hidden) {
  const RouteParams p = route_params(c, iv);
  DecodeGraphKey key{p.k, p.disable_top_scoring, p.k_overridden, {}, keep_hidden};
  for (const LayerFacts& f : moe_layer_facts(c, iv)) key.shared_active.push_back(f.shared_active);
  return key;
}

}  // namespace moescope::cuda_plan
