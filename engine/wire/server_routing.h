#pragma once
// Routed-expert arrays and moescope's routing records, both ways. A server's layer
// axis is either every layer (SGLang: num_hidden_layers, dense layers unwritten) or
// the MoE layers only (vLLM: num_moe_layers); the count tells which.
#include <string>
#include <vector>

#include "model/config.h"
#include "run/routing.h"
#include "wire/routed_experts.h"

namespace moescope {

enum class LayerAxis { all_layers, moe_layers };

// One ids_only record per token of `token_ids` (the first `prompt_tokens` of them
// prompt tokens). Row t of `experts` is token t; tokens past the last row, and rows
// of unknown (-1) ids, get no layer records. Throws EngineError naming `field` when
// the array does not fit the model (layer count, top_k, expert ids out of range or
// chosen twice) or has more rows than there are tokens.
std::vector<TokenRouting> routing_from_server(const RoutedExperts& experts,
                                              const std::vector<int>& token_ids, int prompt_tokens,
                                              const ModelConfig& config, const std::string& field);

// The expert ids of `tokens` as a server would send them: one row per token, unknown
// (-1) where a token has no records; dense layers (all_layers) hold 0, as SGLang's
// zero-initialised buffer does.
RoutedExperts routed_experts_from_routing(const std::vector<TokenRouting>& tokens,
                                          const ModelConfig& config, LayerAxis axis);

}  // namespace moescope
