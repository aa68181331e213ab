#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/embedding.h"

namespace moescope::cuda {
namespace {

template <DType D>
__global__ void embedding_kernel(const typename Weight<D>::T* table, int hidden, const int* ids,
                                 float* out) {
  const auto* row = table + std::int64_t(ids[blockIdx.x]) * hidden;
  float* dst = out + std::int64_t(blockIdx.x) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = Weight<D>::widen(row[i]);
}

}  // namespace

void launch_embedding(const DeviceMatrix& table, const int* ids, int n, float* out,
                      cudaStream_t stream) {
  if (n == 0) return;
  with_dtype(table.dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    embedding_kernel<D><<<n, 256, 0, stream>>>(
        static_cast<const typename Weight<D>::T*>(table.data), table.cols, ids, out);
  });
  check_launch("embedding");
}

}  // namespace moescope::cuda
