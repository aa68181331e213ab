#pragma once
#include <cuda_runtime_api.h>

namespace moescope::cuda {

// dst[dst_rows[i]] = src[src_rows[i]] for rows i < rows of width floats; a null
// index array means the identity. Prefill's gather of each expert's tokens and
// scatter of its outputs; indices on the device.
void launch_copy_rows(float* dst, const int* dst_rows, const float* src, const int* src_rows,
                      int rows, int width, cudaStream_t stream);

}  // namespace moescope::cuda
