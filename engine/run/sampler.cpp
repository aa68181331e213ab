#include "run/sampler.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"

namespace moescope {

void check_sampling_settings(const SamplingSettings& s) {
  const auto refuse = [](const char* what, double value, const char* meaning) {
    std::ostringstream message;
    message << what << " " << value << " is not " << meaning;
    throw EngineError(message.str());
  };
  if (!(std::isfinite(s.temperature) && s.temperature >= 0))
    refuse("temperature", s.temperature, "a finite number >= 0 (0 = greedy)");
  if (!(s.top_p > 0 && s.top_p <= 1)) refuse("top-p", s.top_p, "in (0, 1]");
  if (s.max_tokens < 0) refuse("max-tokens", s.max_tokens, ">= 0");
}

Sampler::Sampler(const SamplingSettings& settings) : settings_(settings), rng_(settings.seed) {
  check_sampling_settings(settings);
}

double Sampler::uniform() {
  return double(rng_() >> 11) * 0x1.0p-53;
}

// The caller (the generator) has checked that the logits are finite.
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
    std::sort(candidates_.begin(), candidates_.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    double mass = 0.0;
    end = candidates_.begin();
    // The most probable token always stays, however small top_p is.
    do mass += (end++)->first;
    while (end != candidates_.end() && mass < settings_.top_p * sum);
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
