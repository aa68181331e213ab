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
