#include "threads/next_token_divergence.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

std::vector<double> logSoftmax(std::span<const float> logits) {
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float v : logits) sum += std::exp(double(v) - top);
  const double shift = top + std::log(sum);
  std::vector<double> out(logits.size());
  std::transform(logits.begin(), logits.end(), out.begin(),
                 [shift](float v) { return double(v) - shift; });
  return out;
}

}  // namespace

double nextTokenKl(std::span<const float> p, std::span<const float> q) {
  if (p.empty() || p.size() != q.size()) return 0.0;
  const std::vector<double> lp = logSoftmax(p), lq = logSoftmax(q);
  double kl = 0.0;
  for (std::size_t i = 0; i < lp.size(); ++i) kl += std::exp(lp[i]) * (lp[i] - lq[i]);
  return std::max(kl, 0.0);  // rounding can leave -1e-17 for equal distributions
}

std::vector<double> teacherForcedKl(moescope::Backend& backend,
                                    const BaselineDistributions& baseline,
                                    const moescope::Interventions& switches,
                                    const std::atomic<bool>* cancel) {
  std::vector<double> kl;
  if (baseline.logits.empty() || baseline.promptTokens < 1) return kl;
  // Position first + j predicts generated token j; the last one scored is
  // the context of the last kept distribution.
  const std::size_t first = std::size_t(baseline.promptTokens) - 1;
  const std::size_t positions = std::min(first + baseline.logits.size(), baseline.ids.size());
  backend.reset();
  for (std::size_t start = 0; start < positions; start += moescope::batch_tokens) {
    if (cancel && cancel->load(std::memory_order_relaxed)) break;
    const std::size_t n = std::min<std::size_t>(moescope::batch_tokens, positions - start);
    const std::span<const float> logits =
        backend.forward_batch(std::span<const int>(baseline.ids).subspan(start, n), int(start),
                              switches, {}, moescope::LogitsWanted::all);  // [n, vocab]
    const std::size_t vocab = logits.size() / n;
    for (std::size_t i = 0; i < n; ++i)
      if (start + i >= first)
        kl.push_back(
            nextTokenKl(baseline.logits[start + i - first], logits.subspan(i * vocab, vocab)));
  }
  return kl;
}
