#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/rmsnorm.h"

namespace moescope::cuda {
namespace {

constexpr int threads = 256;

__global__ void rmsnorm_kernel(float* out, const float* x, const float* weight, int n, float eps) {
  __shared__ double partial[threads / warp_size];
  const float* xr = x + std::int64_t(blockIdx.x) * n;
  float* yr = out + std::int64_t(blockIdx.x) * n;
  double ss = 0.0;
  for (int i = threadIdx.x; i < n; i += threads) ss += double(xr[i]) * xr[i];
  ss = block_sum(ss, partial);
  const float scale = static_cast<float>(1.0 / sqrt(ss / n + eps));
  // Each thread rewrites only the elements it read, after every read of the sum.
  for (int i = threadIdx.x; i < n; i += threads) yr[i] = xr[i] * scale * weight[i];
}

}  // namespace

void launch_rmsnorm(float* out, const float* x, const float* weight, int rows, int n, float eps,
                    cudaStream_t stream) {
  if (rows == 0) return;
  rmsnorm_kernel<<<rows, threads, 0, stream>>>(out, x, weight, n, eps);
  check_launch("rmsnorm");
}

}  // namespace moescope::cuda
