#pragma once
// Picks the next token from logits: greedy, temperature, nucleus (top-p),
// reproducible from a seed on every platform.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "run/sampling.h"

namespace moescope {

class Sampler {
 public:
  explicit Sampler(const SamplingSettings& settings);
  int sample(std::span<const float> logits);

 private:
  double uniform();  // [0, 1), from the raw engine so the stream is portable

  SamplingSettings settings_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int>> candidates_;  // (probability, id)
};

}  // namespace moescope
