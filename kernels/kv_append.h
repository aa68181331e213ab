#pragma once
#include <cuda_runtime_api.h>

namespace moescope::cuda {

// Rows r < rows of k and v [rows, kv_dim] into the caches [capacity, kv_dim] at
// position *pos0 + r (pos0 on the device, so one captured graph serves every
// position); a position at or past capacity is dropped (the host refuses those first).
void launch_kv_append(float* k_cache, float* v_cache, const float* k, const float* v, int rows,
                      int kv_dim, const int* pos0, int capacity, cudaStream_t stream);

}  // namespace moescope::cuda
