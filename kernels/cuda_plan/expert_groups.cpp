#include "cuda_plan/expert_groups.h"

namespace moescope::cuda_plan {

ExpertGroups group_by_expert(std::span<const int> ids, int k, int n_experts) {
  ExpertGroups g;
  g.offsets.assign(n_experts + 1, 0);
  for (int id : ids)
    if (id >= 0 && id < n_experts) ++g.offsets[id + 1];
  for (int e = 0; e < n_experts; ++e) g.offsets[e + 1] += g.offsets[e];
  g.sorted_slots.resize(g.offsets[n_experts]);
  g.source_tokens.resize(g.sorted_slots.size());
  std::vector<int> next(g.offsets.begin(), g.offsets.end() - 1);
  for (int s = 0; s < static_cast<int>(ids.size()); ++s) {
    const int id = ids[s];
    if (id < 0 || id >= n_experts) continue;
    const int p = next[id]++;
    g.sorted_slots[p] = s;
    g.source_tokens[p] = s / k;
  }
  const int max_tiles = max_group_tiles(static_cast<int>(ids.size()), n_experts);
  for (int e = 0; e < n_experts; ++e)
    for (int first = g.offsets[e]; first < g.offsets[e + 1]; first += group_tile_tokens)
      g.tiles.insert(g.tiles.end(), {e, first});
  while (g.tiles.size() < 2 * std::size_t(max_tiles)) g.tiles.insert(g.tiles.end(), {-1, 0});
  return g;
}

}  // namespace moescope::cuda_plan
