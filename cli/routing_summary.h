#pragma once
// The per-layer routing summary printed after `generate`.
#include <ostream>
#include <vector>

#include "generator.h"
#include "model/config.h"

namespace moescope::cli {

void print_routing_summary(std::ostream& out, const ModelConfig& config,
                           const GenerationRequest& request, const GenerationResult& result);

}  // namespace moescope::cli
