#include "analysis/routing_analysis.h"

#include <cmath>

namespace moescope {

std::vector<double> relative_load(const std::vector<TokenRouting>& tokens, int slot,
                                  int n_experts) {
  std::vector<double> load(n_experts, 0.0);
  long choices = 0;
  for (const TokenRouting& t : tokens) {
    for (int e : t.layers[slot].expert_ids) load[e] += 1.0;
    choices += static_cast<long>(t.layers[slot].expert_ids.size());
  }
  if (choices == 0) return load;
  for (double& l : load) l *= static_cast<double>(n_experts) / choices;
  return load;
}

double total_variation(const std::vector<double>& p, const std::vector<double>& q) {
  double sum_p = 0.0, sum_q = 0.0, distance = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) sum_p += p[i], sum_q += q[i];
  if (sum_p <= 0.0 || sum_q <= 0.0) return 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) distance += std::abs(p[i] / sum_p - q[i] / sum_q);
  return distance / 2.0;
}

std::vector<std::vector<long>> coactivation_counts(const std::vector<TokenRouting>& tokens,
                                                   int slot, int n_experts) {
  std::vector<std::vector<long>> counts(n_experts, std::vector<long>(n_experts, 0));
  for (const TokenRouting& t : tokens)
    for (int i : t.layers[slot].expert_ids)
      for (int j : t.layers[slot].expert_ids) ++counts[i][j];
  return counts;
}

Locality routing_locality(const std::vector<TokenRouting>& tokens, int slot, int n_experts) {
  Locality out;
  const double n = n_experts;
  out.chance_first = 1.0 / n;
  // P(two independent uniform 2-subsets of N intersect) = 1 - C(N-2, 2) / C(N, 2).
  out.chance_top2 = n >= 4 ? 1.0 - ((n - 2) * (n - 3)) / (n * (n - 1)) : 1.0;

  std::vector<double> first_load(n_experts, 0.0);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::vector<int>& ids = tokens[i].layers[slot].expert_ids;
    first_load[ids.front()] += 1.0;
    if (i == 0 || tokens[i].position != tokens[i - 1].position + 1) continue;
    const std::vector<int>& prev = tokens[i - 1].layers[slot].expert_ids;
    ++out.pairs;
    out.same_first += ids.front() == prev.front();
    bool shared = false;
    for (std::size_t a = 0; a < std::min<std::size_t>(2, ids.size()); ++a)
      for (std::size_t b = 0; b < std::min<std::size_t>(2, prev.size()); ++b)
        shared |= ids[a] == prev[b];
    out.shared_top2 += shared;
  }
  for (double count : first_load)
    out.chance_first_load += tokens.empty() ? 0.0 : std::pow(count / tokens.size(), 2);
  return out;
}

TokenExpertCounts token_expert_counts(const std::vector<TokenRouting>& tokens, int slot,
                                      int n_experts) {
  TokenExpertCounts out;
  for (const TokenRouting& t : tokens) {
    ++out.occurrences[t.token_id];
    std::vector<long>& counts = out.per_expert[t.token_id];
    counts.resize(n_experts, 0);
    for (int e : t.layers[slot].expert_ids) ++counts[e];
  }
  return out;
}

}  // namespace moescope
