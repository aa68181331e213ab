#pragma once
// Prefill runs each routed expert once over all the tokens that chose it. The
// gate's choices of a chunk, [n_tokens, k] ids with slot s = token * k + rank,
// are grouped by expert on the device (kernels/expert_grouping.cu): the slots of
// expert e take grouped positions [offsets[e], offsets[e+1]), and the grouped
// products run over tiles of `group_tile_tokens` positions of one expert. This is
// the host statement of that grouping, which the device's is tested against.
#include <span>
#include <vector>

namespace moescope::cuda_plan {

// Positions of one expert that one block of the grouped product takes.
inline constexpr int group_tile_tokens = 64;

// Tiles the grouping can make from `slot_count` slots over `n_experts` experts: each
// expert's last tile may be partial, so at most one more tile per expert than the
// slots fill. The grouped product's grid has this many tile rows.
inline int max_group_tiles(int slot_count, int n_experts) {
  return (slot_count + group_tile_tokens - 1) / group_tile_tokens + n_experts;
}

struct ExpertGroups {
  std::vector<int> offsets;        // [n_experts + 1]
  std::vector<int> sorted_slots;   // [placed] slot of each grouped position (scatter index)
  std::vector<int> source_tokens;  // [placed] token of each grouped position (gather index)
  std::vector<int> tiles;          // [2 * max_group_tiles]: (expert, first position); expert -1
                                   // past the last tile
};

// Ids outside [0, n_experts) (a gate that found fewer than k experts) are left out.
// Positions within an expert are in slot order here; the device places them in any
// order, which no result depends on (each product row is computed alone).
ExpertGroups group_by_expert(std::span<const int> ids, int k, int n_experts);

// Few (token, expert) slots are cheaper as one grouped matrix-vector pass (each
// slot reads its expert once) than as grouped products: as long as there are no
// more slots than experts, no more expert matrices are read than a pass over
// every expert would read.
inline bool use_grouped_gemv(int slot_count, int n_experts) {
  return slot_count <= n_experts;
}

}  // namespace moescope::cuda_plan
