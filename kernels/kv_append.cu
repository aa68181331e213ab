#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/kv_append.h"

namespace moescope::cuda {
namespace {

__global__ void kv_append_kernel(float* k_cache, float* v_cache, const float* k, const float* v,
                                 int kv_dim, const int* pos0, int capacity, std::int64_t total) {
  const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const std::int64_t pos = *pos0 + idx / kv_dim;
  if (pos >= capacity) return;
  const std::int64_t at = pos * kv_dim + idx % kv_dim;
  k_cache[at] = k[idx];
  v_cache[at] = v[idx];
}

}  // namespace

void launch_kv_append(float* k_cache, float* v_cache, const float* k, const float* v, int rows,
                      int kv_dim, const int* pos0, int capacity, cudaStream_t stream) {
  const std::int64_t total = std::int64_t(rows) * kv_dim;
  if (total == 0) return;
  kv_append_kernel<<<blocks_for(total, 256), 256, 0, stream>>>(k_cache, v_cache, k, v, kv_dim, pos0,
                                                               capacity, total);
  check_launch("kv_append");
}

}  // namespace moescope::cuda
