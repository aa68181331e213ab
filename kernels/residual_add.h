#pragma once
#include <cuda_runtime_api.h>

namespace moescope::cuda {

// What a block adds to the residual stream x [rows, hidden]:
//   x[r] += sum_j weights[r * k + j] * routed[r * k + j]  (the routed experts, rank order)
//           + extra_scale[r] * extra[r]                   (shared expert, dense MLP, attention)
// summed in that order into a zero, as the CPU backend. k may be 0; extra may be
// null; a null extra_scale means 1.
void launch_residual_add(float* x, const float* routed, const float* weights, int k,
                         const float* extra, const float* extra_scale, int rows, int hidden,
                         cudaStream_t stream);

}  // namespace moescope::cuda
