#include "kernels/add_bias.h"
#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"

namespace moescope::cuda {
namespace {

__global__ void add_bias_kernel(float* x, const float* bias, int n, std::int64_t total) {
  const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx < total) x[idx] += bias[idx % n];
}

}  // namespace

void launch_add_bias(float* x, const float* bias, int rows, int n, cudaStream_t stream) {
  const std::int64_t total = std::int64_t(rows) * n;
  if (total == 0) return;
  add_bias_kernel<<<blocks_for(total, 256), 256, 0, stream>>>(x, bias, n, total);
  check_launch("add_bias");
}

}  // namespace moescope::cuda
