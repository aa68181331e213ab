#pragma once
#include <cuda_runtime_api.h>

namespace moescope::cuda {

// Rotate-half (NeoX) RoPE in place over the full head_dim of the n_heads heads of
// each row r < rows of v [rows, n_heads * head_dim]; row r sits at position
// (*pos0 + r) / linear_factor (pos0 on the device). Angles in double, as the CPU.
void launch_rope(float* v, int rows, int n_heads, int head_dim, const int* pos0,
                 float linear_factor, float theta, cudaStream_t stream);

}  // namespace moescope::cuda
