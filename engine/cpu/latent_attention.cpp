#include "cpu/latent_attention.h"

#include <cmath>

#include "cpu/cpu_ops.h"
#include "model/rope_frequencies.h"

namespace moescope::cpu {

LatentAttention::LatentAttention(const ModelConfig& c)
    : config_(c),
      heads_(c.num_attention_heads),
      nope_(c.mla->qk_nope_head_dim),
      rope_(c.mla->qk_rope_head_dim),
      v_dim_(c.mla->v_head_dim),
      latent_(c.mla->kv_lora_rank),
      q_lora_(c.mla->q_lora_rank),
      inv_freq_(rope_inverse_frequencies(c, c.mla->qk_rope_head_dim)),
      rope_factor_(rope_attention_factor(c)),
      softmax_scale_(float(latent_softmax_scale(c))) {}

// HF's DeepseekV2/V3 rotate interleaved pairs (x0, x1), (x2, x3), ...; V3 with
// rope_interleave false rotates (x_i, x_{i + rope/2}) as every other family does.
void LatentAttention::rotate(float* v, int position) const {
  const int half = rope_ / 2;
  const bool interleaved = config_.mla->rope_interleave;
  for (int i = 0; i < half; ++i) {
    const double angle = double(position) / config_.rope_linear_factor * inv_freq_[i];
    const float c = float(std::cos(angle) * rope_factor_);
    const float s = float(std::sin(angle) * rope_factor_);
    float& x1 = v[interleaved ? 2 * i : i];
    float& x2 = v[interleaved ? 2 * i + 1 : i + half];
    const float a = x1, b = x2;
    x1 = a * c - b * s;
    x2 = b * c + a * s;
  }
}

// One head of one query over cached positions [0, n_pos): scores in the latent space
// plus the shared RoPE key, then the weighted latent expanded to the head's value.
void LatentAttention::attend_head(const LatentAttentionWeights& w, int h, const float* q,
                                  const float* cache, int n_pos, float* out) const {
  const int width = cache_width();
  const float* q_nope = q + std::size_t(h) * (nope_ + rope_);
  const float* q_pe = q_nope + nope_;
  const std::int64_t k_rows = std::int64_t(h) * (nope_ + v_dim_);  // this head's rows of kv_b
  std::vector<float> q_latent(latent_, 0.0f), row(latent_), scores(n_pos), mixed(latent_, 0.0f);
  for (int i = 0; i < nope_; ++i) {
    widen(w.kv_b, (k_rows + i) * latent_, latent_, row.data());
    for (int j = 0; j < latent_; ++j) q_latent[j] += q_nope[i] * row[j];
  }
  for (int s = 0; s < n_pos; ++s) {
    const float* c = cache + std::size_t(s) * width;
    float dot = 0.0f;
    for (int j = 0; j < latent_; ++j) dot += q_latent[j] * c[j];
    for (int j = 0; j < rope_; ++j) dot += q_pe[j] * c[latent_ + j];
    scores[s] = dot * softmax_scale_;
  }
  softmax(scores.data(), n_pos);
  for (int s = 0; s < n_pos; ++s) {
    const float* c = cache + std::size_t(s) * width;
    for (int j = 0; j < latent_; ++j) mixed[j] += scores[s] * c[j];
  }
  matvec(rows_of(w.kv_b, k_rows + nope_, v_dim_), mixed.data(), out);
}

void LatentAttention::run(const LayerWeights& l, std::vector<float>& cache, const float* xn,
                          int pos0, int n, float* out) {
  const LatentAttentionWeights& w = *l.mla;
  const int q_dim = heads_ * (nope_ + rope_);
  const int width = cache_width();
  q_.resize(std::size_t(n) * q_dim);
  att_.resize(std::size_t(n) * heads_ * v_dim_);
  if (w.q_a) {
    q_a_.resize(std::size_t(n) * q_lora_);
    matmul(*w.q_a, xn, n, q_a_.data());
    for (int t = 0; t < n; ++t) {
      float* row = q_a_.data() + std::size_t(t) * q_lora_;
      rmsnorm(row, row, w.q_a_norm.data(), q_lora_, config_.rms_norm_eps);
    }
    matmul(l.wq, q_a_.data(), n, q_.data());
  } else {
    matmul(l.wq, xn, n, q_.data());
  }
  cache.resize(std::size_t(pos0 + n) * width);  // a smaller pos0 rewinds
  float* fresh = cache.data() + std::size_t(pos0) * width;
  matmul(w.kv_a, xn, n, fresh);
  for (int t = 0; t < n; ++t) {
    float* c = fresh + std::size_t(t) * width;
    rmsnorm(c, c, w.kv_a_norm.data(), latent_, config_.rms_norm_eps);
    rotate(c + latent_, pos0 + t);
    float* q = q_.data() + std::size_t(t) * q_dim;
    for (int h = 0; h < heads_; ++h) rotate(q + h * (nope_ + rope_) + nope_, pos0 + t);
  }
  for (int t = 0; t < n; ++t) {  // token t sees positions 0..pos0 + t
    const float* q = q_.data() + std::size_t(t) * q_dim;
    float* o = att_.data() + std::size_t(t) * heads_ * v_dim_;
#pragma omp parallel for schedule(static) if (heads_ * (pos0 + t + 1) * latent_ > 32768)
    for (int h = 0; h < heads_; ++h)
      attend_head(w, h, q, cache.data(), pos0 + t + 1, o + std::size_t(h) * v_dim_);
  }
  matmul(l.wo, att_.data(), n, out);
}

}  // namespace moescope::cpu
