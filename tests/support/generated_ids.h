#pragma once
// The ids a generation produced, without its prompt.
#include <vector>

#include "run/generator.h"

inline std::vector<int> generated_ids(const moescope::GenerationResult& result) {
  std::vector<int> ids;
  for (const auto& t : result.tokens)
    if (!t.routing.is_prompt) ids.push_back(t.routing.token_id);
  return ids;
}
