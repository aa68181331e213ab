#pragma once
// Statistics over routing traces that the MoE papers use: per-label expert
// load, co-activation, locality of consecutive tokens, and per-token routing.
// `slot` indexes TokenRouting::layers (the n-th MoE layer), not the layer id.
#include <map>
#include <vector>

#include "run/routing.h"

namespace moescope {

// Share of one label's routed choices per expert, relative to perfect balance
// (1 = the expert gets exactly k/N of the tokens). [n_experts]
std::vector<double> relative_load(const std::vector<TokenRouting>& tokens, int slot, int n_experts);

// Total variation distance between two distributions over experts, in [0, 1].
double total_variation(const std::vector<double>& p, const std::vector<double>& q);

// counts[i][j]: tokens that chose both i and j among their top-k; counts[i][i]:
// tokens that chose i.
std::vector<std::vector<long>> coactivation_counts(const std::vector<TokenRouting>& tokens,
                                                   int slot, int n_experts);

struct Locality {
  long pairs = 0;                  // consecutive token pairs (position p and p + 1 of one window)
  long same_first = 0;             // both picked the same expert first
  long shared_top2 = 0;            // their first-or-second choices share an expert
  double chance_first = 0.0;       // same_first / pairs under uniform random routing: 1/N
  double chance_top2 = 0.0;        // shared_top2 / pairs under uniform random top-2
  double chance_first_load = 0.0;  // same_first / pairs if first choices were independent draws
                                   // from the observed first-choice load
  double first_rate() const { return pairs ? double(same_first) / pairs : 0.0; }
  double top2_rate() const { return pairs ? double(shared_top2) / pairs : 0.0; }
};
Locality routing_locality(const std::vector<TokenRouting>& tokens, int slot, int n_experts);

// token id -> [n_experts] how often that token chose each expert among its top-k,
// and -> how often the token occurred.
struct TokenExpertCounts {
  std::map<int, std::vector<long>> per_expert;
  std::map<int, long> occurrences;
};
TokenExpertCounts token_expert_counts(const std::vector<TokenRouting>& tokens, int slot,
                                      int n_experts);

}  // namespace moescope
