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
    case Family::qwen3_moe:    // per-head q/k norms and a head_dim of its own
    case Family::deepseek_v2:  // multi-head latent attention, group routing
    case Family::deepseek_v3:  // and sigmoid scores with the selection bias
      break;
  }
  return false;
}

namespace {

const char* family_name(Family family) {
  switch (family) {
    case Family::qwen3_moe:
      return "Qwen3-MoE";
    case Family::deepseek_v2:
      return "DeepSeek-V2";
    case Family::deepseek_v3:
      return "DeepSeek-V3";
    default:
      return "this family";
  }
}

}  // namespace

void require_family(const std::string& model, const ModelConfig& config) {
  if (runs_family(config.family)) return;
  throw EngineError(model + ": the CUDA backend does not run " + family_name(config.family) + " (" +
                    config.model_type + ") yet");
}

}  // namespace moescope::cuda_plan
