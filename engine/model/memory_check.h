#pragma once
// Refusing early, with the numbers, a model that does not fit: better than a
// machine that swaps for minutes or a backend that fails half-way.
#include <cstdint>
#include <string>

#include "model/config.h"

namespace moescope {

std::uint64_t physical_memory_bytes();  // installed RAM; 0 when unknown

// Throws EngineError "MODEL: the BACKEND backend needs X GiB (W of weights + K of
// KV cache for N tokens) but AVAILABLE" when needed > available (and available > 0).
void require_memory(const std::string& model, const std::string& backend, const ModelConfig& config,
                    std::uint64_t weight_bytes, std::uint64_t available,
                    const std::string& available_what);

}  // namespace moescope
