#pragma once
#include <cuda_runtime_api.h>

namespace moescope::cuda {

// Where the grouping of a chunk's slots by expert lands (cuda_plan/expert_groups.h
// states it): all on the device, so prefill never waits for the host.
struct DeviceExpertGroups {
  int* offsets;        // [n_experts + 1]
  int* tiles;          // [2 * max_group_tiles(slot_count, n_experts)]
  int* sorted_slots;   // [slots]: the slot of each grouped position
  int* source_tokens;  // [slots]: its token
};

// Groups ids [slots] (slot = token * k + rank) by expert in one block. Positions
// within an expert come in whatever order the block's atomics give.
void launch_group_by_expert(const int* ids, int slots, int k, int n_experts,
                            const DeviceExpertGroups& groups, cudaStream_t stream);

}  // namespace moescope::cuda
