#pragma once
// NaN or infinite logits (NaN weights, an overflow) have no argmax and no
// distribution: the run stops with the position and, where the backend can
// show it, the first layer whose output stopped being finite.
#include <span>
#include <string>

#include "run/backend.h"

namespace moescope {

// Throws EngineError when `logits` (what `backend` just returned for
// `token_id` at `position`; `where`, if given, says more: "in a window of
// 'code'") hold NaN or infinity. To name the layer it runs
// that token once more with the residual stream kept (the cache keeps
// positions before it, so it computes the same values again), only then.
void check_logits_finite(Backend& backend, std::span<const float> logits, int token_id,
                         int position, const Interventions& interventions, int num_layers,
                         const std::string& where = "");

}  // namespace moescope
