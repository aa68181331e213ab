#pragma once
// What every backend refuses in a forward_batch call, with one set of messages.
#include <cstddef>
#include <span>

#include "model/config.h"
#include "run/routing.h"

namespace moescope {

// Throws EngineError for an empty batch, a token id outside the vocabulary, a
// pos0 that skips past the `cached` positions already run, a last position
// beyond the context, or traces that are neither none nor one per token.
void check_batch(const ModelConfig& config, std::span<const int> token_ids, int pos0,
                 std::size_t cached, std::span<const TokenRouting> traces);

}  // namespace moescope
