#include <cmath>

#include "kernels/attention.h"
#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"

namespace moescope::cuda {
namespace {

constexpr int warps = 8;

// One block per (head, query). Each warp runs an online softmax over every
// warps-th key, each lane holding J of the head's dimensions; the warps' partial
// results are merged at the end.
template <int J>
__global__ void attention_kernel(float* out, const float* q, const float* k_cache,
                                 const float* v_cache, const int* pos0, int capacity, int n_heads,
                                 int n_kv_heads, int head_dim) {
  __shared__ float part_max[warps], part_sum[warps];
  __shared__ float part_acc[warps][J * warp_size];
  const int head = blockIdx.x, row = blockIdx.y;
  const int lane = threadIdx.x % warp_size, warp = threadIdx.x / warp_size;
  const int n_pos = min(*pos0 + row + 1, capacity);
  const int kv_dim = n_kv_heads * head_dim;
  const int kv_offset = head / (n_heads / n_kv_heads) * head_dim;
  const float scale = 1.0f / sqrtf(float(head_dim));
  const float* qh = q + (std::int64_t(row) * n_heads + head) * head_dim;

  float qr[J], acc[J];
#pragma unroll
  for (int j = 0; j < J; ++j) {
    const int d = lane + j * warp_size;
    qr[j] = d < head_dim ? qh[d] : 0.0f;
    acc[j] = 0.0f;
  }
  float run_max = -INFINITY, run_sum = 0.0f;
  for (int t = warp; t < n_pos; t += warps) {
    const float* kt = k_cache + std::int64_t(t) * kv_dim + kv_offset;
    const float* vt = v_cache + std::int64_t(t) * kv_dim + kv_offset;
    float dot = 0.0f;
#pragma unroll
    for (int j = 0; j < J; ++j) {
      const int d = lane + j * warp_size;
      if (d < head_dim) dot += qr[j] * kt[d];
    }
    const float s = warp_sum(dot) * scale;
    const float new_max = fmaxf(run_max, s);
    const float rescale = expf(run_max - new_max);  // 0 for the first key
    const float p = expf(s - new_max);
    run_sum = run_sum * rescale + p;
#pragma unroll
    for (int j = 0; j < J; ++j) {
      const int d = lane + j * warp_size;
      acc[j] = acc[j] * rescale + (d < head_dim ? p * vt[d] : 0.0f);
    }
    run_max = new_max;
  }
  if (lane == 0) {
    part_max[warp] = run_max;
    part_sum[warp] = run_sum;
  }
#pragma unroll
  for (int j = 0; j < J; ++j) part_acc[warp][lane + j * warp_size] = acc[j];
  __syncthreads();

  // Warps that saw no key (fewer keys than warps) hold a zero sum and are skipped.
  float all_max = -INFINITY;
  for (int w = 0; w < warps; ++w) all_max = fmaxf(all_max, part_max[w]);
  float total = 0.0f;
  for (int w = 0; w < warps; ++w)
    if (part_sum[w] > 0.0f) total += part_sum[w] * expf(part_max[w] - all_max);
  float* oh = out + (std::int64_t(row) * n_heads + head) * head_dim;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float o = 0.0f;
    for (int w = 0; w < warps; ++w)
      if (part_sum[w] > 0.0f) o += part_acc[w][d] * expf(part_max[w] - all_max);
    oh[d] = o / total;
  }
}

template <int J>
void launch(float* out, const float* q, const float* k_cache, const float* v_cache, int rows,
            const int* pos0, int capacity, int n_heads, int n_kv_heads, int head_dim,
            cudaStream_t stream) {
  attention_kernel<J><<<dim3(n_heads, rows), warps * warp_size, 0, stream>>>(
      out, q, k_cache, v_cache, pos0, capacity, n_heads, n_kv_heads, head_dim);
}

}  // namespace

void launch_attention(float* out, const float* q, const float* k_cache, const float* v_cache,
                      int rows, const int* pos0, int capacity, int n_heads, int n_kv_heads,
                      int head_dim, cudaStream_t stream) {
  if (rows == 0) return;
  auto run = [&](auto j) {
    launch<decltype(j)::value>(out, q, k_cache, v_cache, rows, pos0, capacity, n_heads, n_kv_heads,
                               head_dim, stream);
  };
  if (head_dim <= 32)
    run(std::integral_constant<int, 1>{});
  else if (head_dim <= 64)
    run(std::integral_constant<int, 2>{});
  else if (head_dim <= 128)
    run(std::integral_constant<int, 4>{});
  else
    run(std::integral_constant<int, 8>{});
  check_launch("attention");
}

}  // namespace moescope::cuda
