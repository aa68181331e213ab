#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/residual_add.h"

namespace moescope::cuda {
namespace {

__global__ void residual_add_kernel(float* x, const float* routed, const float* weights, int k,
                                    const float* extra, const float* extra_scale, int hidden,
                                    std::int64_t total) {
  const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const std::int64_t r = idx / hidden, i = idx % hidden;
  float acc = 0.0f;
  for (int j = 0; j < k; ++j) acc += weights[r * k + j] * routed[(r * k + j) * hidden + i];
  if (extra) acc += (extra_scale ? extra_scale[r] : 1.0f) * extra[idx];
  x[idx] += acc;
}

}  // namespace

void launch_residual_add(float* x, const float* routed, const float* weights, int k,
                         const float* extra, const float* extra_scale, int rows, int hidden,
                         cudaStream_t stream) {
  const std::int64_t total = std::int64_t(rows) * hidden;
  if (total == 0) return;
  residual_add_kernel<<<blocks_for(total, 256), 256, 0, stream>>>(x, routed, weights, k, extra,
                                                                  extra_scale, hidden, total);
  check_launch("residual_add");
}

}  // namespace moescope::cuda
