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

// Throws EngineError unless temperature is finite and >= 0, top_p in (0, 1] and
// max_tokens >= 0: outside those the settings mean nothing (NaN passes every range check).
void check_sampling_settings(const SamplingSettings& settings);

}  // namespace moescope
