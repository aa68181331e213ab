#include <cmath>

#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/router.h"

namespace moescope::cuda {
namespace {

constexpr int warps = 4;  // one token per warp

// An expert and its score; id -1 is "none", after every expert.
struct Pick {
  float score;
  int id;
};

// a comes before b in the gate's order: higher score first, ties to the lower id.
__device__ __forceinline__ bool before(Pick a, Pick b) {
  if (a.id < 0) return false;
  if (b.id < 0) return true;
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

__device__ __forceinline__ Pick warp_first(Pick p) {
  for (int offset = warp_size / 2; offset > 0; offset /= 2) {
    const Pick other{__shfl_xor_sync(full_mask, p.score, offset),
                     __shfl_xor_sync(full_mask, p.id, offset)};
    if (before(other, p)) p = other;
  }
  return p;
}

// One token's scores and what may be chosen. Selection needs no storage: the
// j-th choice is the first expert, in the gate's order, after the (j-1)-th.
struct Gate {
  const float* scores;           // [n] this token's softmax
  const std::uint8_t* disabled;  // [n] or null
  int n;
  Pick last_out_of_reach;  // the last of the disable_top_scoring best, or none

  __device__ bool allowed(int e) const {
    if (disabled && disabled[e]) return false;
    return last_out_of_reach.id < 0 || before(last_out_of_reach, Pick{scores[e], e});
  }
  // The first expert after `prev` (none: from the start), of all or of the allowed ones.
  __device__ Pick next(Pick prev, bool only_allowed) const {
    Pick best{0.0f, -1};
    for (int e = threadIdx.x % warp_size; e < n; e += warp_size) {
      const Pick p{scores[e], e};
      if ((prev.id < 0 || before(prev, p)) && (!only_allowed || allowed(e)) && before(p, best))
        best = p;
    }
    return warp_first(best);
  }
  __device__ Pick nth(int count) const {  // the count-th of the plain order, count >= 1
    Pick p{0.0f, -1};
    for (int i = 0; i < count; ++i) p = next(p, false);
    return p;
  }
};

__global__ void route_kernel(const float* logits, int rows, const std::uint8_t* disabled,
                             cuda_plan::RouteParams p, std::uint32_t* records,
                             std::size_t record_stride, int* ids, float* weights) {
  const int row = blockIdx.x * warps + threadIdx.x / warp_size;
  const int lane = threadIdx.x % warp_size;
  if (row >= rows) return;
  const int n = p.n_experts, k = p.k;
  const cuda_plan::RecordLayout layout = p.record();
  std::uint32_t* record = records + row * record_stride;
  float* scores = reinterpret_cast<float*>(record);
  const float* lg = logits + std::int64_t(row) * n;

  // Softmax; each lane touches only its own experts until the __syncwarp.
  float max = -INFINITY;
  for (int e = lane; e < n; e += warp_size) max = fmaxf(max, lg[e]);
  max = warp_max(max);
  double sum = 0.0;
  for (int e = lane; e < n; e += warp_size) {
    scores[e] = expf(lg[e] - max);
    sum += scores[e];
  }
  const float inv = static_cast<float>(1.0 / warp_sum(sum));
  for (int e = lane; e < n; e += warp_size) scores[e] *= inv;
  __syncwarp();

  bool layer_masked = false;
  if (disabled)
    for (int e = lane; e < n; e += warp_size) layer_masked |= disabled[e] != 0;
  layer_masked = __any_sync(full_mask, layer_masked);

  Gate gate{scores, disabled, n, {0.0f, -1}};
  if (p.disable_top_scoring > 0) gate.last_out_of_reach = gate.nth(p.disable_top_scoring);

  int* rec_ids = reinterpret_cast<int*>(record + layout.ids());
  float* rec_weights = reinterpret_cast<float*>(record + layout.weights());
  Pick pick{0.0f, -1};
  float total = 0.0f;  // in rank order, as the CPU sums
  int chosen = 0;
  for (int j = 0; j < k; ++j) {
    // Once nothing is left (fewer than k allowed), the remaining ranks stay empty.
    if (j == 0 || pick.id >= 0) pick = gate.next(pick, true);
    const float w = pick.id >= 0 ? pick.score : 0.0f;
    chosen += pick.id >= 0;
    total += w;
    if (lane == 0) {
      rec_ids[j] = pick.id;
      rec_weights[j] = w;
    }
  }
  bool changed = false;
  if (layer_masked || p.disable_top_scoring > 0 || p.k_overridden) {
    const Pick last_default = gate.nth(p.k_default);
    int in_default = 0;
    for (int j = 0; j < k; ++j) {
      const int id = __shfl_sync(full_mask, lane == 0 ? rec_ids[j] : 0, 0);
      if (id >= 0) in_default += !before(last_default, Pick{scores[id], id});
    }
    changed = chosen != p.k_default || in_default != chosen;
  }
  if (lane != 0) return;
  for (int j = 0; j < k; ++j) {
    float w = rec_weights[j];
    if (p.normalize) w /= total + 1e-20f;
    rec_weights[j] = w;
    ids[std::int64_t(row) * k + j] = rec_ids[j];
    weights[std::int64_t(row) * k + j] = w;
  }
  record[layout.mask_changed()] = changed ? 1u : 0u;
}

}  // namespace

void launch_route(const float* logits, int rows, const std::uint8_t* disabled,
                  const cuda_plan::RouteParams& p, std::uint32_t* records,
                  std::size_t record_stride, int* ids, float* weights, cudaStream_t stream) {
  if (rows == 0) return;
  route_kernel<<<blocks_for(rows, warps), warps * warp_size, 0, stream>>>(
      logits, rows, disabled, p, records, record_stride, ids, weights);
  check_launch("route");
}

}  // namespace moescope::cuda
