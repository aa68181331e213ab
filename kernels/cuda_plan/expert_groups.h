#pragma once
// Prefill runs each routed expert once over all the tokens that chose it. The
// gate's choices of a chunk, [n_tokens, k] ids with slot s = token * k + rank,
// are grouped by expert here on the host (from one device-to-host copy per
// layer): the slots of expert e are sorted positions [offsets[e], offsets[e+1]).
#include <span>
#include <vector>

namespace moescope::cuda_plan {

struct ExpertGroups {
  std::vector<int> offsets;        // [n_experts + 1]
  std::vector<int> sorted_slots;   // [placed] slot of each sorted position (scatter index)
  std::vector<int> source_tokens;  // [placed] token of each sorted position (gather index)
};

// Ids outside [0, n_experts) (a gate that found fewer than k experts) are left out.
ExpertGroups group_by_expert(std::span<const int> ids, int k, int n_experts);

// Few (token, expert) slots are cheaper as one grouped matrix-vector pass (no
// host round trip, each slot reads its expert once) than as per-expert GEMMs:
// as long as there are no more slots than experts, no more expert matrices are
// read than a pass over every expert would read.
inline bool use_grouped_gemv(int slot_count, int n_experts) {
  return slot_count <= n_experts;
}

}  // namespace moescope::cuda_plan
