#include "backends/backend_factory.h"

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "model/memory_check.h"

namespace moescope {

BackendChoice parse_backend_choice(const std::string& text) {
  if (text == "auto") return BackendChoice::automatic;
  if (text == "cpu") return BackendChoice::cpu;
  if (text == "cuda") return BackendChoice::cuda;
  throw EngineError("unknown backend '" + text + "' (choose auto, cpu or cuda)");
}

namespace {

std::unique_ptr<Backend> cpu_backend(const Model& model) {
  require_memory(model.name(), "CPU", model.config(), model.mapped_bytes(), physical_memory_bytes(),
                 "this machine's RAM");
  return std::make_unique<CpuBackend>(model);
}

}  // namespace

BackendSelection make_backend(const Model& model, BackendChoice choice) {
  switch (choice) {
    case BackendChoice::cpu:
      return {cpu_backend(model), "asked for"};
    case BackendChoice::cuda:
      throw EngineError("the CUDA backend is not part of this build");
    case BackendChoice::automatic:
      break;
  }
  return {cpu_backend(model), "this build has no CUDA backend"};
}

}  // namespace moescope
