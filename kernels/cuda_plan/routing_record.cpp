#include "cuda_plan/routing_record.h"

#include <cassert>
#include <cstring>

namespace moescope::cuda_plan {
namespace {

float as_float(std::uint32_t word) {
  float f;
  std::memcpy(&f, &word, sizeof f);
  return f;
}

}  // namespace

void read_routing(std::span<const std::uint32_t> words, const RecordLayout& layout,
                  std::span<const LayerFacts> layers, int token, TokenRouting& trace) {
  const std::size_t per_token = layers.size() * std::size_t(layout.words());
  assert(words.size() >= (std::size_t(token) + 1) * per_token);
  trace.layers.clear();
  trace.layers.reserve(layers.size());
  for (std::size_t m = 0; m < layers.size(); ++m) {
    const std::uint32_t* r = words.data() + token * per_token + m * layout.words();
    LayerRouting& out = trace.layers.emplace_back();
    out.layer = layers[m].layer;
    out.scores.resize(layout.n_experts);
    for (int e = 0; e < layout.n_experts; ++e) out.scores[e] = as_float(r[e]);
    out.expert_ids.resize(layout.k);
    out.gate_weights.resize(layout.k);
    for (int j = 0; j < layout.k; ++j) {
      out.expert_ids[j] = static_cast<std::int32_t>(r[layout.ids() + j]);
      out.gate_weights[j] = as_float(r[layout.weights() + j]);
    }
    out.shared_active = layers[m].shared_active;
    out.shared_gate = layers[m].shared_gated ? as_float(r[layout.shared_gate()]) : 1.0f;
    out.mask_changed = r[layout.mask_changed()] != 0;
  }
}

}  // namespace moescope::cuda_plan
