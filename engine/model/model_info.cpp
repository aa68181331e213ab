#include "model/model_info.h"

namespace moescope {

ParameterCounts count_parameters(const ModelConfig& c) {
  const std::int64_t hidden = c.hidden_size;
  const std::int64_t q_dim = std::int64_t(c.num_attention_heads) * c.head_dim;
  const std::int64_t kv_dim = std::int64_t(c.num_key_value_heads) * c.head_dim;
  const std::int64_t attention = hidden * (2 * q_dim + 2 * kv_dim) +
                                 (c.qkv_bias ? q_dim + 2 * kv_dim : 0) +  // Qwen2-MoE biases
                                 (c.qk_norm ? q_dim + kv_dim : 0);        // OLMoE q/k norms
  const auto mlp = [&](std::int64_t width) { return 3 * hidden * width; };
  const std::int64_t expert = mlp(c.moe_intermediate_size);
  const std::int64_t shared = (c.n_shared_experts > 0 ? mlp(c.shared_expert_intermediate_size) : 0) +
                              (c.shared_expert_gated ? hidden : 0);  // Qwen2-MoE sigmoid gate

  ParameterCounts p;
  const std::int64_t embeddings = std::int64_t(c.vocab_size) * hidden * (c.tie_word_embeddings ? 1 : 2);
  p.total = p.active_per_token = embeddings + hidden;  // + final norm
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    std::int64_t common = attention + 2 * hidden;  // + the two norms
    if (!c.is_moe_layer(i)) {
      p.total += common + mlp(c.intermediate_size);
      p.active_per_token += common + mlp(c.intermediate_size);
      continue;
    }
    common += std::int64_t(c.n_routed_experts) * hidden + shared;  // router, shared experts
    p.routed_experts += c.n_routed_experts * expert;
    p.total += common + c.n_routed_experts * expert;
    p.active_per_token += common + c.num_experts_per_tok * expert;
  }
  return p;
}

std::int64_t weight_bytes_per_token(const ModelConfig& c, std::size_t dtype_bytes) {
  const std::int64_t embedding_table = std::int64_t(c.vocab_size) * c.hidden_size;
  const std::int64_t params = count_parameters(c).active_per_token - embedding_table + c.hidden_size;
  return params * std::int64_t(dtype_bytes);
}

std::int64_t kv_cache_bytes_per_token(const ModelConfig& c) {
  return 2 * std::int64_t(c.num_hidden_layers) * c.num_key_value_heads * c.head_dim * sizeof(float);
}

}  // namespace moescope
