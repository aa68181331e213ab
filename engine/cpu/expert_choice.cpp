#include "cpu/expert_choice.h"

#include <algorithm>
#include <numeric>

#include "run/top_k.h"

namespace moescope::cpu {
namespace {

// A group's rank: its best selectable score (V2) or the sum of its two best (V3).
float group_score(const ModelConfig& c, std::span<const float> selection,
                  const std::vector<bool>& allowed, int first, int size) {
  std::vector<float> members;
  for (int e = first; e < first + size; ++e)
    if (allowed.empty() || allowed[e]) members.push_back(selection[e]);
  std::sort(members.begin(), members.end(), std::greater<>());
  const std::size_t counted = c.topk_method == TopkMethod::noaux_tc ? 2 : 1;
  float sum = 0.0f;
  for (std::size_t i = 0; i < std::min(counted, members.size()); ++i) sum += members[i];
  return sum;
}

// Narrows `allowed` to the best groups; returns them, ascending.
std::vector<int> keep_groups(const ModelConfig& c, std::span<const float> selection,
                             std::vector<bool>& allowed, int k) {
  const int experts = int(selection.size());
  const int size = experts / c.n_group;
  std::vector<float> score(c.n_group);
  std::vector<bool> reachable(c.n_group);
  std::vector<int> selectable(c.n_group, 0);
  for (int g = 0; g < c.n_group; ++g) {
    for (int e = g * size; e < (g + 1) * size; ++e) selectable[g] += allowed.empty() || allowed[e];
    reachable[g] = selectable[g] > 0;
    score[g] = group_score(c, selection, allowed, g * size, size);
  }
  std::vector<int> kept;
  int selectable_kept = 0;
  for (int g : top_k(score, int(std::count(reachable.begin(), reachable.end(), true)), reachable)) {
    if (int(kept.size()) >= c.topk_group && selectable_kept >= k) break;
    kept.push_back(g);
    selectable_kept += selectable[g];
  }
  std::sort(kept.begin(), kept.end());
  allowed.resize(experts, true);
  for (int e = 0; e < experts; ++e)
    if (!std::binary_search(kept.begin(), kept.end(), e / size)) allowed[e] = false;
  return kept;
}

}  // namespace

ExpertChoice choose_experts(const ModelConfig& c, int layer, std::span<const float> scores,
                            std::span<const float> bias, const Interventions& interventions,
                            int k) {
  ExpertChoice choice;
  if (!bias.empty() && !interventions.select_without_bias) {
    choice.selection.resize(scores.size());
    for (std::size_t e = 0; e < scores.size(); ++e) choice.selection[e] = scores[e] + bias[e];
  }
  const std::span<const float> selection =
      choice.selection.empty() ? scores : std::span<const float>(choice.selection);
  std::vector<bool> allowed = interventions.selectable(layer, selection);
  if (c.topk_method != TopkMethod::greedy && c.n_group > 1 && !interventions.no_group_limit)
    choice.groups = keep_groups(c, selection, allowed, k);
  choice.ids = top_k(selection, k, allowed);
  float sum = 0.0f;
  for (int id : choice.ids) sum += choice.weights.emplace_back(scores[id]);
  // DeepSeek's HF code leaves a single expert's raw probability alone (and adds 1e-20 to
  // the sum, which no f32 sum of top-k probabilities notices); the others always divide.
  if (c.norm_topk_prob && (k > 1 || c.norm_single_expert))
    for (float& w : choice.weights) w /= sum + 1e-20f;
  if (c.routed_scaling_factor != 1.0f)
    for (float& w : choice.weights) w *= c.routed_scaling_factor;
  return choice;
}

}  // namespace moescope::cpu
