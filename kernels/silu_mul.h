#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace moescope::cuda {

// gate[i] = silu(gate[i]) * up[i] for i < n.
void launch_silu_mul(float* gate, const float* up, std::int64_t n, cudaStream_t stream);

}  // namespace moescope::cuda
