#pragma once
// One batched forward pass over a token list, from position 0, keeping every position's
// logits and routing: what the suites compare between two models or backends.
#include <vector>

#include "run/backend.h"

struct BatchRun {
  std::vector<float> logits;  // [tokens, vocab]
  std::vector<moescope::TokenRouting> routing;
};

inline BatchRun run_batch(moescope::Backend& backend, const std::vector<int>& tokens) {
  BatchRun r;
  r.routing.resize(tokens.size());
  const auto logits = backend.forward_batch(tokens, 0, {}, r.routing, moescope::LogitsWanted::all);
  r.logits.assign(logits.begin(), logits.end());
  return r;
}
