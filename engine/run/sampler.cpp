#include "run/sampler.h"

#include <algorithm>
#include <cmath>

namespace moescope {

Sampler::Sampler(const SamplingSettings& settings) : settings_(settings), rng_(settings.seed) {}

double Sampler::uniform() { return double(rng_() >> 11) * 0x1.0p-53; }

int Sampler::sample(std::span<const float> logits) {
  const auto argmax = [&] {
    return int(std::max_element(logits.begin(), logits.end()) - logits.begin());
  };
  if (settings_.temperature <= 0.0f) return argmax();

  const float max = logits[argmax()];
  candidates_.resize(logits.size());
  double sum = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const float p = std::exp((logits[i] - max) / settings_.temperature);
    candidates_[i] = {p, int(i)};
    sum += p;
  }
  // Nucleus: keep the most probable tokens whose mass reaches top_p.
  auto end = candidates_.end();
  if (settings_.top_p < 1.0f) {
    std::sort(candidates_.begin(), candidates_.end(),
              [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    double mass = 0.0;
    end = candidates_.begin();
    while (end != candidates_.end() && mass < settings_.top_p * sum) mass += (end++)->first;
    sum = mass;
  }
  const double r = uniform() * sum;
  double cumulative = 0.0;
  for (auto it = candidates_.begin(); it != end; ++it) {
    cumulative += it->first;
    if (r < cumulative) return it->second;
  }
  return std::prev(end)->second;  // rounding left r at the very top
}

}  // namespace moescope
