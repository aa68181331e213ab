#pragma once
// The compute backend interface: a batch of tokens through the whole model,
// with its own KV cache. Decode is the batch of one.
#include <span>
#include <string>

#include "run/interventions.h"
#include "run/routing.h"

namespace moescope {

enum class LogitsWanted {
  last,  // the last position's logits [vocab] (prefill, decode)
  all,   // every position's logits [n, vocab], row-major (evaluation)
};

// Prefill and evaluation run at most this many tokens per call: large enough
// for matrix products to pay, small enough that progress and cancellation are
// seen between calls.
inline constexpr int batch_tokens = 128;

class Backend {
 public:
  virtual ~Backend() = default;

  // Runs token_ids[i] at position pos0 + i for every i. Positions go 0, 1,
  // 2, ... after reset(); a pos0 below the number already run rewinds: the
  // cache keeps positions 0..pos0-1 and forgets the rest (a chat turn that
  // shares only part of the cached ids). When `traces` is non-empty it has one
  // entry per token and receives that token's position, id and routing in
  // every MoE layer. The returned span stays valid until the next call.
  // Running n tokens at once gives the same logits and routing as running them
  // one by one (the tests prove it for every backend).
  virtual std::span<const float> forward_batch(std::span<const int> token_ids, int pos0,
                                               const Interventions& interventions,
                                               std::span<TokenRouting> traces,
                                               LogitsWanted wanted) = 0;
  virtual void reset() = 0;              // forget the KV cache
  virtual std::string name() const = 0;  // "CPU (2 threads)", "CUDA: NVIDIA H100"

  // For comparing backends layer by layer (check --backend): while on, every
  // forward_batch keeps the last position's residual stream after each layer,
  // [num_hidden_layers, hidden] row-major, until the next call. Off by default
  // (it costs a copy per layer).
  virtual void keep_hidden_states(bool on) = 0;
  virtual std::span<const float> hidden_states() const = 0;

  // One token: the decode step. `trace` may be null.
  std::span<const float> forward(int token_id, int pos, const Interventions& interventions,
                                 TokenRouting* trace) {
    return forward_batch(std::span<const int>(&token_id, 1), pos, interventions,
                         trace ? std::span<TokenRouting>(trace, 1) : std::span<TokenRouting>(),
                         LogitsWanted::last);
  }
};

}  // namespace moescope
