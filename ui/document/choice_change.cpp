#include "document/choice_change.h"

#include <algorithm>

#include "run/top_k.h"

namespace ChoiceChange {

Change of(const moescope::LayerRouting& routing, int defaultK) {
  Change change;
  if (routing.scores.empty()) return change;  // ids only: what the gate would have done is unknown
  const int k = std::clamp(defaultK, 0, int(routing.scores.size()));
  const std::vector<int> unswitched = moescope::top_k(routing.scores, k, {});
  const auto chosen = [&](int e) {
    return std::find(routing.expert_ids.begin(), routing.expert_ids.end(), e) !=
           routing.expert_ids.end();
  };
  for (int e : unswitched)
    if (!chosen(e)) change.lost.push_back(e);
  for (int e : routing.expert_ids)
    if (std::find(unswitched.begin(), unswitched.end(), e) == unswitched.end())
      change.replacements.push_back(e);
  return change;
}

}  // namespace ChoiceChange
