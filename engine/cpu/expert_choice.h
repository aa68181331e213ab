#pragma once
// The gate's choice for one token in one MoE layer, every family's rule in one place:
// selection scores (the probabilities, plus DeepSeek-V3's e_score_correction_bias), the
// groups a token may use (DeepSeek-V2 group_limited_greedy, V3 noaux_tc), the top k within
// them, and the weights (from the unbiased scores, renormalised, scaled).
#include <span>
#include <vector>

#include "model/config.h"
#include "run/interventions.h"

namespace moescope::cpu {

struct ExpertChoice {
  std::vector<int> ids;          // best first by selection score
  std::vector<float> weights;    // applied to the chosen experts' outputs
  std::vector<float> selection;  // scores + bias; empty when the scores themselves select
  std::vector<int> groups;       // groups kept, ascending; empty without group routing
};

// `scores` are the token's probabilities (softmax or sigmoid of the router logits), `bias`
// the layer's e_score_correction_bias (empty for other families). Experts the
// interventions switch off keep their scores but are not selected and do not rank their
// group; should the kept groups hold fewer than k selectable experts, the next-ranked
// groups are kept as well.
ExpertChoice choose_experts(const ModelConfig& config, int layer, std::span<const float> scores,
                            std::span<const float> bias, const Interventions& interventions, int k);

}  // namespace moescope::cpu
