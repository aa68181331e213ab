#pragma once
// The gate's choice: the k best routed experts of one token. Shared by every
// backend and by the interventions, so that all of them break ties alike.
#include <span>
#include <vector>

namespace moescope {

// Indices of the k largest scores, best first; ties go to the lower index;
// entries with allowed[i] == false are never chosen.
std::vector<int> top_k(std::span<const float> scores, int k, const std::vector<bool>& allowed);

}  // namespace moescope
