#pragma once
// Multi-head (and grouped-query) causal attention over a float KV cache.
namespace moescope::cpu {

// Causal attention of one query over positions [0, n_pos) of a KV cache laid
// out [n_pos, n_kv_heads * head_dim]; grouped-query when n_kv_heads < n_heads.
void attention(float* out,            // [n_heads * head_dim]
               const float* q,        // [n_heads * head_dim]
               const float* k_cache,  // [n_pos, n_kv_heads * head_dim]
               const float* v_cache,  // [n_pos, n_kv_heads * head_dim]
               int n_pos, int n_heads, int n_kv_heads, int head_dim,
               float* scratch /* [n_heads * n_pos] */);

// attention() for n queries at once: row t of q sits at position pos0 + t and attends to
// positions [0, pos0 + t] of the caches. Each row equals attention()'s for that query bit for
// bit; the queries go in blocks that read each cache row once per block.
void causal_attention(float* out,      // [n, n_heads * head_dim]
                      const float* q,  // [n, n_heads * head_dim]
                      int n, int pos0, const float* k_cache, const float* v_cache, int n_heads,
                      int n_kv_heads, int head_dim);

}  // namespace moescope::cpu
