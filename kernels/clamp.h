#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace moescope::cuda {

// x[i] = clamp(x[i], -limit, limit) for i < n (OLMoE's clip_qkv); NaN stays NaN, as std::clamp.
void launch_clamp(float* x, std::int64_t n, float limit, cudaStream_t stream);

}  // namespace moescope::cuda
