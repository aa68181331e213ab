#include <algorithm>

#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/widen.h"

namespace moescope::cuda {
namespace {

template <DType D>
__global__ void widen_kernel(const typename Weight<D>::T* src, std::int64_t n, float* dst) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    dst[i] = Weight<D>::widen(src[i]);
}

}  // namespace

void launch_widen(const void* src, DType dtype, std::int64_t n, float* dst, cudaStream_t stream) {
  if (n == 0) return;
  const unsigned blocks = std::min(blocks_for(n, 256), 65536u);
  with_dtype(dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    widen_kernel<D>
        <<<blocks, 256, 0, stream>>>(static_cast<const typename Weight<D>::T*>(src), n, dst);
  });
  check_launch("widen");
}

}  // namespace moescope::cuda
