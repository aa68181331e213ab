#include "kernels/clamp.h"
#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"

namespace moescope::cuda {
namespace {

__global__ void clamp_kernel(float* x, std::int64_t n, float limit) {
  const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const float v = x[idx];
  x[idx] = v < -limit ? -limit : (limit < v ? limit : v);
}

}  // namespace

void launch_clamp(float* x, std::int64_t n, float limit, cudaStream_t stream) {
  if (n == 0) return;
  clamp_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(x, n, limit);
  check_launch("clamp");
}

}  // namespace moescope::cuda
