#include "cuda_plan/scratch_plan.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "cuda_plan/expert_groups.h"
#include "cuda_plan/weight_layout.h"
#include "model/model_info.h"

namespace moescope::cuda_plan {
namespace {

std::string gib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", bytes / double(1ull << 30));
  return text;
}

}  // namespace

ScratchPlan plan_scratch(const ModelConfig& c, std::int64_t largest_16bit_matrix, int tokens) {
  ScratchPlan p;
  p.tokens = tokens;
  // A single token with k = n_routed_experts (the largest override) must fit.
  p.max_slots = std::max(tokens * c.num_experts_per_tok, c.n_routed_experts);
  p.widen_elems = std::min(largest_16bit_matrix, widen_chunk_elems);
  const std::size_t t = tokens, s = p.max_slots, f = sizeof(float);
  const std::size_t hidden = c.hidden_size, q_dim = std::size_t(c.num_attention_heads) * c.head_dim;
  const std::size_t kv_dim = std::size_t(c.num_key_value_heads) * c.head_dim;
  const std::size_t mlp = std::max(c.intermediate_size, c.shared_expert_intermediate_size);
  const std::size_t experts = c.n_routed_experts, moe_width = c.moe_intermediate_size;
  const std::size_t moe_layers = c.num_moe_layers();
  // Each token's scores and two words, plus the ids and weights of every slot.
  const std::size_t record_words = moe_layers * (t * (experts + 2) + 2 * s);

  auto set = [&](Buffer b, std::size_t bytes) { p.size[static_cast<int>(b)] = bytes; };
  set(Buffer::step, (1 + t) * sizeof(int));
  set(Buffer::x, t * hidden * f);
  set(Buffer::xn, t * hidden * f);
  set(Buffer::q, t * q_dim * f);
  set(Buffer::k, t * kv_dim * f);
  set(Buffer::v, t * kv_dim * f);
  set(Buffer::att, t * q_dim * f);
  set(Buffer::proj, t * hidden * f);
  set(Buffer::mlp_a, t * mlp * f);
  set(Buffer::mlp_b, t * mlp * f);
  set(Buffer::shared_out, t * hidden * f);
  set(Buffer::shared_scale, t * f);
  set(Buffer::router_logits, t * experts * f);
  set(Buffer::slot_ids, s * sizeof(int));
  set(Buffer::slot_weights, s * f);
  set(Buffer::group_index, 2 * s * sizeof(int));
  set(Buffer::expert_tiles,
      (experts + 1 + 2 * std::size_t(max_group_tiles(p.max_slots, c.n_routed_experts))) *
          sizeof(int));
  set(Buffer::slot_a, s * moe_width * f);
  set(Buffer::slot_b, s * moe_width * f);
  set(Buffer::routed, s * hidden * f);
  set(Buffer::records, record_words * sizeof(std::uint32_t));
  set(Buffer::logits, t * std::size_t(c.vocab_size) * f);
  set(Buffer::hidden_states, std::size_t(c.num_hidden_layers) * hidden * f);
  set(Buffer::widened, std::size_t(p.widen_elems) * f);
  for (int b = 0; b < buffer_count; ++b) {
    p.offset[b] = p.bytes;
    p.bytes += (p.size[b] + arena_alignment - 1) / arena_alignment * arena_alignment;
  }
  return p;
}

int tokens_per_chunk(const ScratchPlan& plan, int k) {
  return std::max(1, std::min(plan.tokens, plan.max_slots / std::max(k, 1)));
}

DeviceMemoryNeed device_memory_need(const ModelConfig& c, std::uint64_t weight_bytes,
                                    const ScratchPlan& plan) {
  DeviceMemoryNeed need;
  need.weights = weight_bytes;
  need.kv_cache = std::uint64_t(kv_cache_bytes_per_token(c)) * c.max_position_embeddings;
  need.scratch = plan.bytes + gemm_workspace_bytes;
  need.reserve = device_reserve_bytes;
  return need;
}

void require_device_memory(const std::string& model, const ModelConfig& c,
                           const DeviceMemoryNeed& need, std::uint64_t free_bytes,
                           const std::string& device) {
  if (need.total() <= free_bytes) return;
  throw EngineError(model + ": the CUDA backend needs " + gib(need.total()) + " (" +
                    gib(need.weights) + " of weights + " + gib(need.kv_cache) +
                    " of KV cache for " + std::to_string(c.max_position_embeddings) + " tokens + " +
                    gib(need.scratch) + " of scratch and workspace + " + gib(need.reserve) +
                    " kept free) but " + device + " has " + gib(free_bytes) + " free");
}

}  // namespace moescope::cuda_plan
