#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda_plan/routing_plan.h"

namespace moescope::cuda {

// The gate of one MoE layer for rows r < rows, exactly the CPU backend's rule:
// scores = softmax(logits[r]) (sum in double); the disable_top_scoring best of
// all experts and those with disabled[e] != 0 cannot be chosen; the k best of
// the rest, best first, ties to the lower id; weights = their scores, divided by
// their sum + 1e-20 when p.normalize; mask_changed when a mask or the k override
// changed the chosen set from the plain top-k_default.
// Writes row r's record at records + r * record_stride (words, routing_record.h)
// and its ids and weights at ids[r * k + j], weights[r * k + j]. disabled may be null.
void launch_route(const float* logits, int rows, const std::uint8_t* disabled,
                  const cuda_plan::RouteParams& p, std::uint32_t* records,
                  std::size_t record_stride, int* ids, float* weights, cudaStream_t stream);

}  // namespace moescope::cuda
