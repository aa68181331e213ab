#include "run/top_k.h"

#include <algorithm>

namespace moescope {

std::vector<int> top_k(std::span<const float> scores, int k, const std::vector<bool>& allowed) {
  std::vector<int> order;
  order.reserve(scores.size());
  for (int i = 0; i < static_cast<int>(scores.size()); ++i)
    if (allowed.empty() || allowed[i]) order.push_back(i);
  k = std::min<int>(k, static_cast<int>(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
  });
  order.resize(k);
  return order;
}

}  // namespace moescope
