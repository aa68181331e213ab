#include "kernels/copy_rows.h"
#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"

namespace moescope::cuda {
namespace {

__global__ void copy_rows_kernel(float* dst, const int* dst_rows, const float* src,
                                 const int* src_rows, int width, std::int64_t total) {
  const std::int64_t idx = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const std::int64_t i = idx / width, c = idx % width;
  const std::int64_t d = dst_rows ? dst_rows[i] : i, s = src_rows ? src_rows[i] : i;
  dst[d * width + c] = src[s * width + c];
}

}  // namespace

void launch_copy_rows(float* dst, const int* dst_rows, const float* src, const int* src_rows,
                      int rows, int width, cudaStream_t stream) {
  const std::int64_t total = std::int64_t(rows) * width;
  if (total == 0) return;
  copy_rows_kernel<<<blocks_for(total, 256), 256, 0, stream>>>(dst, dst_rows, src, src_rows, width,
                                                               total);
  check_launch("copy_rows");
}

}  // namespace moescope::cuda
