#include "backends/backend_factory.h"

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "model/memory_check.h"

#ifdef MOESCOPE_WITH_CUDA
#include "backends/backend_self_check.h"
#include "kernels/cuda_backend.h"
#endif

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

#ifdef MOESCOPE_WITH_CUDA
// The first CUDA backend of the process checks itself against the CPU; the
// verdict (empty: passed) stands for the rest of the process.
const std::string& cuda_refusal() {
  static const std::string refusal =
      self_check([](const Model& m) { return std::make_unique<CudaBackend>(m); });
  return refusal;
}

// Throws EngineError saying why CUDA cannot be used.
std::unique_ptr<Backend> cuda_backend(const Model& model) {
  if (const std::string& refusal = cuda_refusal(); !refusal.empty())
    throw EngineError("CUDA refused: " + refusal);
  return std::make_unique<CudaBackend>(model);
}
#endif

}  // namespace

BackendSelection make_backend(const Model& model, BackendChoice choice) {
  switch (choice) {
    case BackendChoice::cpu:
      return {cpu_backend(model), "asked for"};
    case BackendChoice::cuda:
#ifdef MOESCOPE_WITH_CUDA
      return {cuda_backend(model), "asked for"};
#else
      throw EngineError("the CUDA backend is not part of this build");
#endif
    case BackendChoice::automatic:
      break;
  }
#ifdef MOESCOPE_WITH_CUDA
  try {
    return {cuda_backend(model), "a CUDA device with room for the model, self-check passed"};
  } catch (const EngineError& e) {
    return {cpu_backend(model), std::string("CUDA not used: ") + e.what()};
  }
#else
  return {cpu_backend(model), "this build has no CUDA backend"};
#endif
}

}  // namespace moescope
