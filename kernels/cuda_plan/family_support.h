#pragma once
// Which families the CUDA kernels implement. A model of another family is refused
// before anything is allocated, so `--backend auto` runs it on the CPU and says why.
#include <string>

#include "model/config.h"

namespace moescope::cuda_plan {

bool runs_family(Family family);

// Throws EngineError "MODEL: the CUDA backend does not run Qwen3-MoE (qwen3_moe) yet".
void require_family(const std::string& model, const ModelConfig& config);

}  // namespace moescope::cuda_plan
