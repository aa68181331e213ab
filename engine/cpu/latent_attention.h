#pragma once
// Multi-head latent attention (DeepSeek-V2/V3) on the CPU. The KV cache keeps, per token
// and layer, only the normed compressed latent (kv_lora_rank) and the one RoPE key all
// heads share (qk_rope_head_dim); each head's no-RoPE key and value are kv_b_proj of that
// latent, which this code never materialises: a head's query is folded into the latent
// space (q_nope . W_k,h c = (W_k,h^T q_nope) . c), its attention-weighted latent is
// expanded by W_v,h once per query.
#include <vector>

#include "model/model.h"

namespace moescope::cpu {

class LatentAttention {
 public:
  explicit LatentAttention(const ModelConfig& config);

  // Floats the cache keeps per token: kv_lora_rank + qk_rope_head_dim.
  int cache_width() const { return latent_ + rope_; }

  // out[n, hidden] = attention of the normed rows xn[n, hidden] at positions pos0..pos0+n-1;
  // `cache` [positions, cache_width] is cut to pos0 and gains the n new tokens.
  void run(const LayerWeights& layer, std::vector<float>& cache, const float* xn, int pos0, int n,
           float* out);

 private:
  void rotate(float* v, int position) const;  // the rope_ dims at v, in the config's layout
  void attend_head(const LatentAttentionWeights& w, int head, const float* q, const float* cache,
                   int n_pos, float* out) const;

  const ModelConfig& config_;
  int heads_, nope_, rope_, v_dim_, latent_, q_lora_;
  std::vector<double> inv_freq_;  // [rope_ / 2]
  double rope_factor_;            // YaRN's factor on cos and sin
  float softmax_scale_;
  std::vector<float> q_a_, q_, att_;  // [n, q_lora], [n, heads * (nope + rope)], [n, heads * v]
};

}  // namespace moescope::cpu
