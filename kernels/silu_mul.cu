#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/silu_mul.h"

namespace moescope::cuda {
namespace {

__global__ void silu_mul_kernel(float* gate, const float* up, std::int64_t n) {
  const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const float g = gate[idx];
  gate[idx] = g / (1.0f + expf(-g)) * up[idx];
}

}  // namespace

void launch_silu_mul(float* gate, const float* up, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  silu_mul_kernel<<<blocks_for(n, 256), 256, 0, stream>>>(gate, up, n);
  check_launch("silu_mul");
}

}  // namespace moescope::cuda
