#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "model/dtype.h"

namespace moescope::cuda {

// dst[i] = src[i] widened to f32 for i < n: 16-bit weight rows for an f32 GEMM.
void launch_widen(const void* src, DType dtype, std::int64_t n, float* dst, cudaStream_t stream);

}  // namespace moescope::cuda
