#include "run/batch_check.h"

#include <cstdint>
#include <string>

#include "core/error.h"

namespace moescope {

void check_batch(const ModelConfig& c, std::span<const int> token_ids, int pos0, std::size_t cached,
                 std::span<const TokenRouting> traces) {
  if (token_ids.empty()) throw EngineError("no tokens to run");
  for (int id : token_ids)
    if (id < 0 || id >= c.vocab_size)
      throw EngineError("token id " + std::to_string(id) + " out of range (vocabulary of " +
                        std::to_string(c.vocab_size) + ")");
  if (pos0 < 0 || std::size_t(pos0) > cached)
    throw EngineError("position " + std::to_string(pos0) + " skips past the " +
                      std::to_string(cached) + " positions already run");
  const std::int64_t last = std::int64_t(pos0) + std::int64_t(token_ids.size()) - 1;
  if (last >= c.max_position_embeddings)
    throw EngineError("context full: position " + std::to_string(last) +
                      " is beyond max_position_embeddings " +
                      std::to_string(c.max_position_embeddings));
  if (!traces.empty() && traces.size() != token_ids.size())
    throw EngineError("forward_batch: " + std::to_string(traces.size()) + " traces for " +
                      std::to_string(token_ids.size()) + " tokens");
}

}  // namespace moescope
