#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/device_matrix.h"

namespace moescope::cuda {

// The routed experts of a slot: slot s multiplies by the matrix at
// w.data + ids[s] * stride_bytes, ids read from device memory (the gate's choice
// never visits the host). A negative id yields a zero row.
struct ExpertChoice {
  const int* ids = nullptr;  // [slots] on the device; null: every slot uses w itself
  std::size_t stride_bytes = 0;
};

// y[s * y_stride + r] = W_s[r, :] · x[(s / slots_per_input) * x_stride + :] for slots
// s < slots and rows r < w.rows: weights in their stored dtype, f32 accumulation,
// one warp per row with 16-byte loads where the layout allows. The decode path for
// every matrix; grouped over experts with `experts`.
void launch_gemv(const DeviceMatrix& w, const ExpertChoice& experts, const float* x, int x_stride,
                 int slots_per_input, int slots, float* y, int y_stride, cudaStream_t stream);

}  // namespace moescope::cuda
