#pragma once
#include <cuda_runtime_api.h>

#include "kernels/device_matrix.h"

namespace moescope::cuda {

// out[n, hidden] = rows ids[0..n) of table [vocab, hidden], widened to f32. ids on the device.
void launch_embedding(const DeviceMatrix& table, const int* ids, int n, float* out,
                      cudaStream_t stream);

}  // namespace moescope::cuda
