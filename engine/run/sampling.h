#pragma once
// How the next token is picked from the logits.
#include <cstdint>

namespace moescope {

struct SamplingSettings {
  float temperature = 0.0f;  // 0 = greedy (argmax)
  float top_p = 1.0f;        // nucleus size; 1 = whole distribution
  std::uint64_t seed = 0;    // same seed + same settings = same text
  int max_tokens = 64;       // generated tokens, prompt excluded
};

}  // namespace moescope
