#pragma once
// What a switch did to one token's choice at one layer. The scores are the
// gate's full softmax, switched-off experts included, so the choice the gate
// would have made with every expert on is the plain top-k of them — the same
// rule the backends use to set mask_changed.
#include <vector>

#include "run/routing.h"

namespace ChoiceChange {

struct Change {
  std::vector<int> lost;          // would have been chosen, best first
  std::vector<int> replacements;  // chosen instead, best first
};

// `defaultK` is the model's num_experts_per_tok. Empty lists when the choice
// is the one the gate makes with every expert on, or the record has no scores.
Change of(const moescope::LayerRouting& routing, int defaultK);

}  // namespace ChoiceChange
