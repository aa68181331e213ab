#pragma once
#include <cuda_runtime_api.h>

namespace moescope::cuda {

// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight for rows r < rows of
// [rows, n]; the sum of squares in double, as the CPU backend. out may be x.
void launch_rmsnorm(float* out, const float* x, const float* weight, int rows, int n, float eps,
                    cudaStream_t stream);

}  // namespace moescope::cuda
