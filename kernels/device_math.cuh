#pragma once
// Device helpers the kernels share: widening stored weights to f32, warp and
// block reductions, and the launch-time switch over weight dtypes.
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "core/error.h"
#include "model/dtype.h"

namespace moescope::cuda {

inline constexpr int warp_size = 32;
inline constexpr unsigned full_mask = 0xffffffffu;

template <DType D>
struct Weight;
template <>
struct Weight<DType::f32> {
  using T = float;
  static __device__ __forceinline__ float widen(float v) { return v; }
};
template <>
struct Weight<DType::bf16> {
  using T = std::uint16_t;
  static __device__ __forceinline__ float widen(std::uint16_t v) {
    return __uint_as_float(std::uint32_t(v) << 16);
  }
};
template <>
struct Weight<DType::f16> {
  using T = std::uint16_t;
  static __device__ __forceinline__ float widen(std::uint16_t v) {
    return __half2float(__ushort_as_half(v));
  }
};

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = warp_size / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(full_mask, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = warp_size / 2; offset > 0; offset /= 2)
    v = fmaxf(v, __shfl_xor_sync(full_mask, v, offset));
  return v;
}

// Sum over the whole block (blockDim.x a multiple of 32), returned to every thread.
// `shared` holds one value per warp; a kernel may call this once.
__device__ __forceinline__ double block_sum(double v, double* shared) {
  const int lane = threadIdx.x % warp_size, warp = threadIdx.x / warp_size;
  v = warp_sum(v);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  double total = 0.0;
  for (int w = 0; w < int(blockDim.x) / warp_size; ++w) total += shared[w];
  return total;
}

// Calls f(std::integral_constant<DType, d>) for the run-time dtype d (host side).
template <class F>
void with_dtype(DType d, F&& f) {
  switch (d) {
    case DType::f32:
      f(std::integral_constant<DType, DType::f32>{});
      break;
    case DType::f16:
      f(std::integral_constant<DType, DType::f16>{});
      break;
    case DType::bf16:
      f(std::integral_constant<DType, DType::bf16>{});
      break;
    default:  // quantized: refused when the weights are planned (cuda_plan/weight_layout)
      throw EngineError("no CUDA kernel reads " + std::string(dtype_name(d)) + " weights");
  }
}

inline unsigned blocks_for(std::int64_t n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

}  // namespace moescope::cuda
