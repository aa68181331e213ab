#pragma once
// Every CUDA runtime error becomes an EngineError naming the op: the engine
// never aborts, and a GUI shows the message.
#include <cuda_runtime_api.h>

namespace moescope::cuda {

// Throws EngineError "CUDA error in WHAT: <name> (<description>)" unless status is cudaSuccess.
void check_cuda(cudaError_t status, const char* what);

// After a kernel launch: the launch's own error (bad configuration), not the kernel's outcome.
void check_launch(const char* op);

}  // namespace moescope::cuda
