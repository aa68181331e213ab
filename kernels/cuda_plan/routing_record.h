#pragma once
// One token's routing in one MoE layer as the CUDA backend writes it on the
// device: a run of 4-byte words, copied to the host once per forward call and
// read back into TokenRouting here.
//   [0, E)          scores (f32, the softmax probabilities)
//   [E, E + k)      expert ids (i32), best first
//   [E + k, E + 2k) gate weights (f32)
//   E + 2k          shared-expert gate (f32; written for Qwen2-MoE only)
//   E + 2k + 1      mask_changed (i32, 0 or 1)
// Records go token-major: token t, MoE layer m at (t * n_moe_layers + m) * words().
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "run/routing.h"

namespace moescope::cuda_plan {

struct RecordLayout {
  int n_experts = 0;
  int k = 0;
  constexpr int ids() const { return n_experts; }
  constexpr int weights() const { return n_experts + k; }
  constexpr int shared_gate() const { return n_experts + 2 * k; }
  constexpr int mask_changed() const { return n_experts + 2 * k + 1; }
  constexpr int words() const { return n_experts + 2 * k + 2; }
};

// What the host knows of a layer without reading the device.
struct LayerFacts {
  int layer = 0;
  bool shared_active = false;  // has shared experts and they are not switched off
  bool shared_gated = false;
};

// Fills trace.layers (one LayerRouting per entry of `layers`, in order) from the
// records of token `token` in `words` ([n_tokens, layers.size(), layout.words()]).
void read_routing(std::span<const std::uint32_t> words, const RecordLayout& layout,
                  std::span<const LayerFacts> layers, int token, TokenRouting& trace);

}  // namespace moescope::cuda_plan
