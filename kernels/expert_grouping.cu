#include "cuda_plan/expert_groups.h"
#include "kernels/cuda_error.h"
#include "kernels/device_math.cuh"
#include "kernels/expert_grouping.h"

namespace moescope::cuda {
namespace {

constexpr int threads = 1024;

// Shared memory: count[n_experts], then next[n_experts] (the next free position).
__global__ void group_by_expert_kernel(const int* ids, int slots, int k, int n_experts,
                                       int max_tiles, int* offsets, int* tiles, int* sorted_slots,
                                       int* source_tokens) {
  extern __shared__ int shared[];
  int* count = shared;
  int* next = shared + n_experts;
  for (int e = threadIdx.x; e < n_experts; e += blockDim.x) count[e] = 0;
  __syncthreads();
  for (int s = threadIdx.x; s < slots; s += blockDim.x) {
    const int id = ids[s];
    if (id >= 0 && id < n_experts) atomicAdd(&count[id], 1);
  }
  __syncthreads();
  // A few hundred experts and tiles: one thread lays them out.
  if (threadIdx.x == 0) {
    int sum = 0, tile = 0;
    for (int e = 0; e < n_experts; ++e) {
      offsets[e] = next[e] = sum;
      for (int first = sum; first < sum + count[e]; first += cuda_plan::group_tile_tokens) {
        tiles[2 * tile] = e;
        tiles[2 * tile + 1] = first;
        ++tile;
      }
      sum += count[e];
    }
    offsets[n_experts] = sum;
    for (; tile < max_tiles; ++tile) {
      tiles[2 * tile] = -1;
      tiles[2 * tile + 1] = 0;
    }
  }
  __syncthreads();
  for (int s = threadIdx.x; s < slots; s += blockDim.x) {
    const int id = ids[s];
    if (id < 0 || id >= n_experts) continue;
    const int p = atomicAdd(&next[id], 1);
    sorted_slots[p] = s;
    source_tokens[p] = s / k;
  }
}

}  // namespace

void launch_group_by_expert(const int* ids, int slots, int k, int n_experts,
                            const DeviceExpertGroups& groups, cudaStream_t stream) {
  const int max_tiles = cuda_plan::max_group_tiles(slots, n_experts);
  const std::size_t shared = 2 * std::size_t(n_experts) * sizeof(int);
  group_by_expert_kernel<<<1, threads, shared, stream>>>(ids, slots, k, n_experts, max_tiles,
                                                         groups.offsets, groups.tiles,
                                                         groups.sorted_slots, groups.source_tokens);
  check_launch("group_by_expert");
}

}  // namespace moescope::cuda
