#include "model/model_info.h"

namespace moescope {
namespace {

// Multi-head latent attention: q (direct or low-rank with its norm), the compressed kv with
// the shared RoPE key, its norm, the expansion to per-head keys and values, o_proj.
std::int64_t latent_attention_parameters(const ModelConfig& c) {
  const LatentAttention& a = *c.mla;
  const std::int64_t hidden = c.hidden_size, heads = c.num_attention_heads;
  const std::int64_t q_dim = heads * (a.qk_nope_head_dim + a.qk_rope_head_dim);
  const std::int64_t q = a.q_lora_rank > 0 ? hidden * a.q_lora_rank + a.q_lora_rank +
                                                 std::int64_t(a.q_lora_rank) * q_dim
                                           : hidden * q_dim;
  return q + hidden * (a.kv_lora_rank + a.qk_rope_head_dim) + a.kv_lora_rank +
         std::int64_t(a.kv_lora_rank) * heads * (a.qk_nope_head_dim + a.v_head_dim) +
         heads * a.v_head_dim * hidden;
}

}  // namespace

ParameterCounts count_parameters(const ModelConfig& c) {
  const std::int64_t hidden = c.hidden_size;
  const std::int64_t q_dim = std::int64_t(c.num_attention_heads) * c.head_dim;
  const std::int64_t kv_dim = std::int64_t(c.num_key_value_heads) * c.head_dim;
  const std::int64_t attention =
      c.mla ? latent_attention_parameters(c)
            : hidden * (2 * q_dim + 2 * kv_dim) +
                  (c.qkv_bias ? q_dim + 2 * kv_dim : 0) +     // Qwen2-MoE biases
                  (c.qk_norm ? q_dim + kv_dim : 0) +          // OLMoE q/k norms
                  (c.qk_norm_per_head ? 2 * c.head_dim : 0);  // Qwen3-MoE's
  const auto mlp = [&](std::int64_t width) { return 3 * hidden * width; };
  const std::int64_t expert = mlp(c.moe_intermediate_size);
  const std::int64_t shared = (c.n_shared_experts > 0 ? mlp(c.shared_expert_intermediate_size) : 0) +
                              (c.shared_expert_gated ? hidden : 0);  // Qwen2-MoE sigmoid gate

  ParameterCounts p;
  const std::int64_t embeddings = std::int64_t(c.vocab_size) * hidden * (c.tie_word_embeddings ? 1 : 2);
  p.total = p.active_per_token = embeddings + hidden;  // + final norm
  p.embedding = std::int64_t(c.vocab_size) * hidden;
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    std::int64_t common = attention + 2 * hidden;  // + the two norms
    if (!c.is_moe_layer(i)) {
      p.total += common + mlp(c.intermediate_size);
      p.active_per_token += common + mlp(c.intermediate_size);
      continue;
    }
    common += std::int64_t(c.n_routed_experts) * (hidden + (c.score_correction_bias ? 1 : 0)) +
              shared;  // router (and its bias), shared experts
    p.routed_experts += c.n_routed_experts * expert;
    p.total += common + c.n_routed_experts * expert;
    p.active_per_token += common + c.num_experts_per_tok * expert;
  }
  return p;
}

namespace {

// A view never bound (MLA layers have no wk / wv) reads nothing.
std::int64_t bytes_of(const TensorView& t) {
  return t.shape.empty() ? 0 : tensor_bytes(t);
}

std::int64_t bytes_of(const MlpWeights& m) {
  return bytes_of(m.gate) + bytes_of(m.up) + bytes_of(m.down);
}

// The backend reads norms and biases as the f32 copies bound at load.
std::int64_t bytes_of(const std::vector<float>& v) {
  return std::int64_t(v.size() * sizeof(float));
}

std::int64_t layer_bytes_per_token(const ModelConfig& c, const LayerWeights& l) {
  std::int64_t bytes = bytes_of(l.attn_norm) + bytes_of(l.ffn_norm) + bytes_of(l.wq) +
                       bytes_of(l.wk) + bytes_of(l.wv) + bytes_of(l.wo) + bytes_of(l.bq) +
                       bytes_of(l.bk) + bytes_of(l.bv) + bytes_of(l.q_norm) + bytes_of(l.k_norm);
  if (l.mla)
    bytes += (l.mla->q_a ? bytes_of(*l.mla->q_a) : 0) + bytes_of(l.mla->q_a_norm) +
             bytes_of(l.mla->kv_a) + bytes_of(l.mla->kv_a_norm) + bytes_of(l.mla->kv_b);
  if (!l.is_moe) return bytes + bytes_of(l.dense);
  bytes += bytes_of(l.router) + bytes_of(l.score_bias) +
           c.num_experts_per_tok * bytes_of(l.experts.front());
  if (l.shared) bytes += bytes_of(*l.shared);
  if (l.shared_gate) bytes += bytes_of(*l.shared_gate);
  return bytes;
}

}  // namespace

std::int64_t weight_bytes_per_token(const ModelConfig& c, const ModelWeights& w) {
  std::int64_t bytes =
      bytes_of(w.embed) / c.vocab_size + bytes_of(w.final_norm) + bytes_of(w.lm_head);
  for (const LayerWeights& l : w.layers) bytes += layer_bytes_per_token(c, l);
  return bytes;
}

std::int64_t kv_cache_bytes_per_token(const ModelConfig& c) {
  if (c.mla)  // the latent and the shared RoPE key (cpu/latent_attention.h)
    return std::int64_t(c.num_hidden_layers) * (c.mla->kv_lora_rank + c.mla->qk_rope_head_dim) *
           std::int64_t(sizeof(float));
  return 2 * std::int64_t(c.num_hidden_layers) * c.num_key_value_heads * c.head_dim * sizeof(float);
}

}  // namespace moescope
