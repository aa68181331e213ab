#include <cstdint>

#include "kernels/cuda_error.h"
#include "kernels/rope.h"

namespace moescope::cuda {
namespace {

__global__ void rope_kernel(float* v, int n_heads, int head_dim, const int* pos0,
                            float linear_factor, float theta) {
  const int half = head_dim / 2;
  const float position = float(*pos0 + int(blockIdx.x)) / linear_factor;
  float* row = v + std::int64_t(blockIdx.x) * n_heads * head_dim;
  for (int idx = threadIdx.x; idx < n_heads * half; idx += blockDim.x) {
    const int i = idx % half;
    float* head = row + (idx / half) * head_dim;
    const double inv_freq = pow(double(theta), -2.0 * i / head_dim);
    const double angle = double(position) * inv_freq;
    const float c = static_cast<float>(cos(angle));
    const float s = static_cast<float>(sin(angle));
    const float x1 = head[i], x2 = head[i + half];
    head[i] = x1 * c - x2 * s;
    head[i + half] = x2 * c + x1 * s;
  }
}

}  // namespace

void launch_rope(float* v, int rows, int n_heads, int head_dim, const int* pos0,
                 float linear_factor, float theta, cudaStream_t stream) {
  if (rows == 0) return;
  rope_kernel<<<rows, 128, 0, stream>>>(v, n_heads, head_dim, pos0, linear_factor, theta);
  check_launch("rope");
}

}  // namespace moescope::cuda
