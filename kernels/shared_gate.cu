#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/shared_gate.h"

namespace moescope::cuda {
namespace {

__global__ void shared_gate_kernel(float* scale, int rows, std::uint32_t* records,
                                   std::size_t record_stride, int word) {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float s = 1.0f / (1.0f + expf(-scale[r]));
  scale[r] = s;
  records[r * record_stride + word] = __float_as_uint(s);
}

}  // namespace

void launch_shared_gate(float* scale, int rows, std::uint32_t* records, std::size_t record_stride,
                        int word, cudaStream_t stream) {
  if (rows == 0) return;
  shared_gate_kernel<<<blocks_for(rows, 128), 128, 0, stream>>>(scale, rows, records, record_stride,
                                                                word);
  check_launch("shared_gate");
}

}  // namespace moescope::cuda
