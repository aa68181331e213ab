#pragma once
// Sizes a person asks about before running a model: parameters in total and
// per token, and memory.
#include <cstdint>

#include "model/config.h"
#include "model/model.h"

namespace moescope {

struct ParameterCounts {
  std::int64_t total = 0;
  std::int64_t active_per_token = 0;  // embeddings, attention, dense FFNs, k routed + shared experts
  std::int64_t routed_experts = 0;    // all routed experts of all layers
  // The input embedding table, part of both counts above: a token reads one row of it, so
  // DeepSeek-V2/V3 publish their active counts without it (V2-Lite 2.4 B, V3 37 B).
  std::int64_t embedding = 0;
};

ParameterCounts count_parameters(const ModelConfig& config);

// Weight bytes one decode step reads, in the dtypes the weights are held in: one
// embedding row, attention, norms, dense FFNs, routers, shared experts, k routed
// experts per MoE layer (num_experts_per_tok), the LM head.
std::int64_t weight_bytes_per_token(const ModelConfig& config, const ModelWeights& weights);

// f32 K and V for every layer, per position of context.
std::int64_t kv_cache_bytes_per_token(const ModelConfig& config);

}  // namespace moescope
