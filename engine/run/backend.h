#pragma once
// The compute backend interface: one token through the whole model, with its
// own KV cache. CPU today; CUDA plugs in behind the same calls.
#include <span>
#include <string>

#include "run/interventions.h"
#include "run/routing.h"

namespace moescope {

class Backend {
 public:
  virtual ~Backend() = default;

  // Runs token `token_id` at position `pos` and returns the logits
  // [vocab_size]. Positions go 0, 1, 2, ... after reset(); a position below
  // the number already run rewinds: the cache keeps positions 0..pos-1 and
  // forgets the rest (a chat turn that shares only part of the cached ids).
  // When `trace` is non-null it receives every MoE layer's routing for this token.
  virtual std::span<const float> forward(int token_id, int pos, const Interventions& interventions,
                                         TokenRouting* trace) = 0;
  virtual void reset() = 0;             // forget the KV cache
  virtual std::string name() const = 0;  // "CPU (2 threads)", "CUDA: NVIDIA H100"
};

}  // namespace moescope
