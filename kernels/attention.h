#pragma once
#include <cuda_runtime_api.h>

namespace moescope::cuda {

inline constexpr int attention_max_head_dim = 256;

// Causal grouped-query attention. Query row r < rows of q [rows, n_heads * head_dim]
// sits at position *pos0 + r (pos0 on the device) and attends to cache positions
// [0, *pos0 + r] of k_cache, v_cache [capacity, n_kv_heads * head_dim]; scale
// 1/sqrt(head_dim). out [rows, n_heads * head_dim]. Loops are bounded by capacity,
// so one captured graph serves every position. head_dim <= attention_max_head_dim.
void launch_attention(float* out, const float* q, const float* k_cache, const float* v_cache,
                      int rows, const int* pos0, int capacity, int n_heads, int n_kv_heads,
                      int head_dim, cudaStream_t stream);

}  // namespace moescope::cuda
