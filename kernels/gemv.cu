#include <cstdint>

#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/gemv.h"

namespace moescope::cuda {
namespace {

constexpr int rows_per_block = 4;  // one warp each

// acc + the 16 bytes `packed` (4 f32 or 8 16-bit weights) · x[0 .. 4 or 8).
template <DType D>
__device__ __forceinline__ float dot16(uint4 packed, const float* x, float acc) {
  const float4* xv = reinterpret_cast<const float4*>(x);
  if constexpr (D == DType::f32) {
    const float4 xa = xv[0];
    return acc + __uint_as_float(packed.x) * xa.x + __uint_as_float(packed.y) * xa.y +
           __uint_as_float(packed.z) * xa.z + __uint_as_float(packed.w) * xa.w;
  } else {
    const unsigned words[4] = {packed.x, packed.y, packed.z, packed.w};
#pragma unroll
    for (int k = 0; k < 2; ++k) {
      const float4 xa = xv[k];
      const unsigned lo = words[2 * k], hi = words[2 * k + 1];
      acc += Weight<D>::widen(std::uint16_t(lo & 0xffffu)) * xa.x +
             Weight<D>::widen(std::uint16_t(lo >> 16)) * xa.y +
             Weight<D>::widen(std::uint16_t(hi & 0xffffu)) * xa.z +
             Weight<D>::widen(std::uint16_t(hi >> 16)) * xa.w;
    }
    return acc;
  }
}

template <DType D, bool Vector>
__global__ void gemv_kernel(const char* w, const int* ids, std::size_t stride_bytes, int rows,
                            int cols, const float* x, int x_stride, int slots_per_input, float* y,
                            int y_stride) {
  using T = typename Weight<D>::T;
  const int slot = blockIdx.y;
  const int row = blockIdx.x * rows_per_block + threadIdx.x / warp_size;
  const int lane = threadIdx.x % warp_size;
  if (row >= rows) return;
  float* out = y + std::int64_t(slot) * y_stride + row;
  if (ids) {
    const int expert = ids[slot];
    if (expert < 0) {
      if (lane == 0) *out = 0.0f;
      return;
    }
    w += std::size_t(expert) * stride_bytes;
  }
  const T* wr = reinterpret_cast<const T*>(w) + std::int64_t(row) * cols;
  const float* xr = x + std::int64_t(slot / slots_per_input) * x_stride;
  float acc = 0.0f;
  if constexpr (Vector) {
    constexpr int per_load = 16 / sizeof(T);
    for (int i = lane * per_load; i < cols; i += warp_size * per_load)
      acc = dot16<D>(__ldg(reinterpret_cast<const uint4*>(wr + i)), xr + i, acc);
  } else {
    for (int i = lane; i < cols; i += warp_size) acc += Weight<D>::widen(wr[i]) * xr[i];
  }
  acc = warp_sum(acc);
  if (lane == 0) *out = acc;
}

bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

}  // namespace

void launch_gemv(const DeviceMatrix& w, const ExpertChoice& experts, const float* x, int x_stride,
                 int slots_per_input, int slots, float* y, int y_stride, cudaStream_t stream) {
  if (slots == 0 || w.rows == 0) return;
  const int per_load = int(16 / dtype_size(w.dtype));
  // 16-byte loads need every row, every expert and every input row 16-byte aligned.
  const bool vector = w.cols % per_load == 0 && x_stride % 4 == 0 && aligned16(w.data) &&
                      aligned16(x) && experts.stride_bytes % 16 == 0;
  const dim3 grid(blocks_for(w.rows, rows_per_block), slots);
  const int threads = rows_per_block * warp_size;
  with_dtype(w.dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    const auto* base = static_cast<const char*>(w.data);
    if (vector)
      gemv_kernel<D, true><<<grid, threads, 0, stream>>>(base, experts.ids, experts.stride_bytes,
                                                         w.rows, w.cols, x, x_stride,
                                                         slots_per_input, y, y_stride);
    else
      gemv_kernel<D, false><<<grid, threads, 0, stream>>>(base, experts.ids, experts.stride_bytes,
                                                          w.rows, w.cols, x, x_stride,
                                                          slots_per_input, y, y_stride);
  });
  check_launch("gemv");
}

}  // namespace moescope::cuda
