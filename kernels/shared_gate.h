#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace moescope::cuda {

// Qwen2-MoE's shared-expert gate, in place: scale[r] = sigmoid(scale[r]) (the
// logit shared_expert_gate · x), also written to word `word` of row r's routing
// record at records + r * record_stride.
void launch_shared_gate(float* scale, int rows, std::uint32_t* records, std::size_t record_stride,
                        int word, cudaStream_t stream);

}  // namespace moescope::cuda
