#pragma once
#include <cuda_runtime_api.h>

namespace moescope::cuda {

// x[r, i] += bias[i] over rows r < rows of x [rows, n] (Qwen2-MoE's q/k/v biases).
void launch_add_bias(float* x, const float* bias, int rows, int n, cudaStream_t stream);

}  // namespace moescope::cuda
