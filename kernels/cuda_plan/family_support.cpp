#include "cuda_plan/family_support.h"

#include "core/error.h"

namespace moescope::cuda_plan {

bool runs_family(Family family) {
  switch (family) {
    case Family::deepseek:
    case Family::mixtral:
    case Family::qwen2_moe:
    case Family::olmoe:
      return true;
    case Family::qwen3_moe:  // per-head q/k norms and a head_dim of its own
      break;
  }
  return false;
}

void require_family(const std::string& model, const ModelConfig& config) {
  if (runs_family(config.family)) return;
  const char* name = config.family == Family::qwen3_moe ? "Qwen3-MoE" : "this family";
  throw EngineError(model + ": the CUDA backend does not run " + name + " (" + config.model_type +
                    ") yet");
}

}  // namespace moescope::cuda_plan
