#pragma once
// What the interventions mean for the CUDA backend's gate: the parameters of
// the routing kernel, the per-layer mask uploaded to the device, and the key of
// the captured decode graph (what, when it changes, needs a new capture).
#include <cstdint>
#include <vector>

#include "cuda_plan/routing_record.h"
#include "model/config.h"
#include "run/interventions.h"

namespace moescope::cuda_plan {

struct RouteParams {
  int n_experts = 0;
  int k = 0;          // experts chosen per token (the override, or num_experts_per_tok)
  int k_default = 0;  // num_experts_per_tok: the set mask_changed compares against
  int disable_top_scoring = 0;
  bool k_overridden = false;
  bool normalize = false;  // divide the weights by their sum (norm_topk_prob rule)
  constexpr RecordLayout record() const { return {n_experts, k}; }
};

RouteParams route_params(const ModelConfig& config, const Interventions& interventions);

// [num_hidden_layers, n_routed_experts], 1 where the expert may not be chosen
// (disabled in that layer or in all layers). Uploaded when it changes; the graph
// reads it, so a new mask needs no new capture.
std::vector<std::uint8_t> expert_mask(const ModelConfig& config,
                                      const Interventions& interventions);

// The MoE layers in order, with what the host knows of each.
std::vector<LayerFacts> moe_layer_facts(const ModelConfig& config,
                                        const Interventions& interventions);

// Everything the decode graph bakes into its launches.
struct DecodeGraphKey {
  int k = 0;
  int disable_top_scoring = 0;
  bool k_overridden = false;
  std::vector<bool> shared_active;  // per MoE layer: the shared expert runs
  bool keep_hidden = false;
  bool operator==(const DecodeGraphKey&) const = default;
};

DecodeGraphKey decode_graph_key(const ModelConfig& config, const Interventions& interventions,
                                bool keep_hidden);

}  // namespace moescope::cuda_plan
