#include "kernels/cuda_error.h"

#include <string>

#include "core/error.h"

namespace moescope::cuda {

void check_cuda(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  throw EngineError(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(status) + " (" +
                    cudaGetErrorString(status) + ")");
}

void check_launch(const char* op) {
  check_cuda(cudaGetLastError(), op);
}

}  // namespace moescope::cuda
