#pragma once
// The per-layer routing summary printed after `generate`.
#include <ostream>
#include <vector>

#include "model/config.h"
#include "run/generator.h"

namespace moescope::cli {

void print_routing_summary(std::ostream& out, const ModelConfig& config,
                           const GenerationRequest& request, const GenerationResult& result);

}  // namespace moescope::cli
