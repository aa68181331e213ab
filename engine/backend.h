#pragma once
// The compute backend interface: one token through the whole model, with its
// own KV cache. CPU today; CUDA plugs in behind the same calls.
#include <span>
#include <string>

#include "interventions.h"
#include "routing.h"

namespace moescope {

class Backend {
 public:
  virtual ~Backend() = default;

  // Runs token `token_id` at position `pos` (positions must go 0, 1, 2, ...
  // after reset()) and returns the logits [vocab_size]. When `trace` is
  // non-null it receives every MoE layer's routing for this token.
  virtual std::span<const float> forward(int token_id, int pos, const Interventions& interventions,
                                         TokenRouting* trace) = 0;
  virtual void reset() = 0;             // forget the KV cache
  virtual std::string name() const = 0;  // "CPU (2 threads)", "CUDA: NVIDIA H100"
};

}  // namespace moescope
