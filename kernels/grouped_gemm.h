#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/device_matrix.h"
#include "kernels/expert_grouping.h"

namespace moescope::cuda {

// The rows a grouped product reads and writes: grouped position p reads row
// x_rows[p] of x and writes row y_rows[p] of y (null: row p itself).
struct GroupedRows {
  const float* x;
  int x_stride;
  const int* x_rows;
  float* y;
  int y_stride;
  const int* y_rows;
};

// Every expert's product over its grouped positions in one launch, the groups read
// on the device: y[p, r] = W_e[r, :] · x[p, :] for the positions p of expert e, where
// W_e lies at first.data + e * stride_bytes. Weights in their stored dtype, f32
// accumulation in column order; a row's result does not depend on the tile it is in.
// `slots` is the count the groups were made from (it bounds their tiles).
void launch_grouped_gemm(const DeviceMatrix& first, std::size_t stride_bytes,
                         const DeviceExpertGroups& groups, int slots, int n_experts,
                         const GroupedRows& rows, cudaStream_t stream);

}  // namespace moescope::cuda
