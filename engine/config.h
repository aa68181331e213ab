#pragma once
// config.json of a Hugging Face DeepSeekMoE checkpoint (model_type "deepseek"),
// parsed and validated once at load.
#include <filesystem>
#include <optional>
#include <string>

namespace moescope {

struct ModelConfig {
  std::string model_type;    // "deepseek"
  std::string architecture;  // architectures[0], e.g. "DeepseekForCausalLM"
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;  // dense MLP width
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;  // == heads unless grouped-query attention
  int head_dim = 0;             // hidden_size / num_attention_heads
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  float rope_linear_factor = 1.0f;  // rope_scaling {"type": "linear", "factor": f}
  bool tie_word_embeddings = false;
  std::optional<int> bos_token_id;
  std::optional<int> eos_token_id;
  std::string torch_dtype;  // informational; tensors carry their own dtype

  // Mixture of experts. n_routed_experts == 0 means a dense model.
  int n_routed_experts = 0;
  int n_shared_experts = 0;
  int num_experts_per_tok = 0;
  int moe_intermediate_size = 0;
  int first_k_dense_replace = 0;
  int moe_layer_freq = 1;
  bool norm_topk_prob = false;
  std::string scoring_func = "softmax";

  bool is_moe_layer(int layer) const {
    return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
  }
  int num_moe_layers() const;
};

// Throws EngineError naming `source` and the offending field.
ModelConfig parse_model_config(const std::string& json_text, const std::string& source);
ModelConfig load_model_config(const std::filesystem::path& model_dir);

}  // namespace moescope
