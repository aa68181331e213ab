#pragma once
// The CUDA backend's working memory, sized on the host from the config: every
// activation buffer of a chunk of up to `tokens` tokens and `slots` routed
// (token, expert) slots, in one device allocation; and the memory check that
// runs before anything is uploaded.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/config.h"

namespace moescope::cuda_plan {

// Longer batches run as consecutive chunks (prefill of a long prompt).
inline constexpr int max_chunk_tokens = 256;
// Up to this many rows a weight is read by the matrix-vector kernel once per row;
// beyond, cuBLAS runs the product (after widening 16-bit weights to f32).
inline constexpr int gemv_max_rows = 4;
inline constexpr std::size_t gemm_workspace_bytes = std::size_t(32) << 20;
// The f32 copy of 16-bit weight rows a GEMM reads, at most this many elements.
inline constexpr std::int64_t widen_chunk_elems = std::int64_t(16) << 20;
// Kept free beyond the plan: cuBLAS handles and kernels' own allocations.
inline constexpr std::uint64_t device_reserve_bytes = std::uint64_t(256) << 20;

enum class Buffer {
  step,           // i32 [1 + tokens]: the chunk's first position, then its token ids
  x,              // [tokens, hidden] residual stream
  xn,             // [tokens, hidden] normed input of a block
  q,              // [tokens, heads * head_dim]
  k,              // [tokens, kv_dim]
  v,              // [tokens, kv_dim]
  att,            // [tokens, heads * head_dim]
  proj,           // [tokens, hidden] attention or dense MLP output
  mlp_a,          // [tokens, widest dense/shared MLP]
  mlp_b,          // [tokens, widest dense/shared MLP]
  shared_out,     // [tokens, hidden]
  shared_scale,   // [tokens] Qwen2-MoE shared gate logit, then its sigmoid
  router_logits,  // [tokens, n_routed_experts]
  slot_ids,       // i32 [slots] chosen expert of slot token * k + rank
  slot_weights,   // [slots] its gate weight
  group_index,    // i32 [2 * slots] prefill: scatter then gather index of each grouped position
  expert_tiles,   // i32 [experts + 1 + 2 * max tiles] prefill: group offsets, then tiles
  slot_a,         // [slots, moe_width]
  slot_b,         // [slots, moe_width]
  routed,         // [slots, hidden] expert outputs by slot
  records,        // u32 routing records of a chunk (routing_record.h)
  logits,         // [tokens, vocab]
  hidden_states,  // [layers, hidden] last position after each layer
  widened,        // [widen elems] a GEMM's weight rows in f32
  count
};
inline constexpr int buffer_count = static_cast<int>(Buffer::count);

struct ScratchPlan {
  int tokens = 0;     // per chunk
  int max_slots = 0;  // per chunk
  std::int64_t widen_elems = 0;
  std::array<std::size_t, buffer_count> offset{};  // bytes
  std::array<std::size_t, buffer_count> size{};    // bytes
  std::size_t bytes = 0;
  std::size_t offset_of(Buffer b) const { return offset[static_cast<int>(b)]; }
  std::size_t size_of(Buffer b) const { return size[static_cast<int>(b)]; }
};

// `largest_16bit_matrix` (elements) bounds the widened copy; 0 when every weight is f32.
ScratchPlan plan_scratch(const ModelConfig& config, std::int64_t largest_16bit_matrix,
                         int tokens = max_chunk_tokens);

// Tokens per chunk when the gate picks k experts: every slot must fit.
int tokens_per_chunk(const ScratchPlan& plan, int k);

struct DeviceMemoryNeed {
  std::uint64_t weights = 0, kv_cache = 0, scratch = 0, reserve = 0;
  std::uint64_t total() const { return weights + kv_cache + scratch + reserve; }
};

DeviceMemoryNeed device_memory_need(const ModelConfig& config, std::uint64_t weight_bytes,
                                    const ScratchPlan& plan);

// Throws EngineError "MODEL: the CUDA backend needs X GiB (W of weights + K of KV
// cache for N tokens + S of scratch and workspace + R kept free) but DEVICE has F GiB free".
void require_device_memory(const std::string& model, const ModelConfig& config,
                           const DeviceMemoryNeed& need, std::uint64_t free_bytes,
                           const std::string& device);

}  // namespace moescope::cuda_plan
