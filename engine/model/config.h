#pragma once
// config.json of a Hugging Face MoE checkpoint, parsed and validated once at
// load: DeepSeekMoE (model_type "deepseek"), Mixtral ("mixtral"), Qwen2-MoE /
// Qwen1.5-MoE ("qwen2_moe"), OLMoE ("olmoe"), Qwen3-MoE ("qwen3_moe"), DeepSeek-V2
// ("deepseek_v2") and DeepSeek-V3 ("deepseek_v3"), all mapped onto one set of fields.
// docs/FAMILIES.md lists how each family's fields land here.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace moescope {

enum class Family { deepseek, mixtral, qwen2_moe, olmoe, qwen3_moe, deepseek_v2, deepseek_v3 };

// YaRN context extension (rope_scaling type "yarn"), as DeepSeek-V2/V3 configure it.
struct YarnRope {
  double factor = 1.0;
  int original_max_position_embeddings = 0;
  double beta_fast = 32.0, beta_slow = 1.0;
  std::optional<double> mscale, mscale_all_dim;  // of the cos/sin and of the softmax scale
  std::optional<double> attention_factor;        // overrides the cos/sin factor mscale gives
  bool truncate = true;                          // correction range to whole dimensions
  bool operator==(const YarnRope&) const = default;
};

// Multi-head latent attention (DeepSeek-V2/V3): q directly or through a low-rank path,
// k/v from one compressed latent per token plus one RoPE key shared by every head.
struct LatentAttention {
  int q_lora_rank = 0;  // 0: q_proj; else q_a_proj -> RMSNorm -> q_b_proj
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  bool rope_interleave = true;  // RoPE on (x0, x1), (x2, x3) pairs; false: rotate-half
};

// How the gate picks its experts among the scores.
enum class TopkMethod {
  greedy,                // the k best
  group_limited_greedy,  // DeepSeek-V2: groups ranked by their best score, topk_group kept
  noaux_tc,              // DeepSeek-V3: groups ranked by the sum of their two best biased scores
};

struct ModelConfig {
  std::string model_type;  // "deepseek", "mixtral", "qwen2_moe", "olmoe" or "qwen3_moe"
  Family family = Family::deepseek;
  std::string architecture;  // architectures[0], e.g. "DeepseekForCausalLM"
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;  // dense MLP width
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;  // == heads unless grouped-query attention
  int head_dim = 0;  // hidden_size / num_attention_heads; qwen3_moe: its own; MLA: nope + rope
  int max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  float rope_linear_factor = 1.0f;    // rope_scaling {"type": "linear", "factor": f}
  std::optional<YarnRope> rope_yarn;  // rope_scaling {"type": "yarn", ...} (deepseek_v2/v3)
  bool tie_word_embeddings = false;
  std::optional<int> bos_token_id;
  std::optional<int> eos_token_id;
  std::vector<int> stop_token_ids;  // every eos id of config.json and generation_config.json
  std::string torch_dtype;          // informational; tensors carry their own dtype
  // Keys in no table of model/config_keys.h whose names do not say they shape the
  // forward pass: loaded, and reported as not understood.
  std::vector<std::string> unrecognised_keys;

  // Attention variants.
  bool qkv_bias = false;          // qwen2_moe: q/k/v projections have biases (o has none)
  bool qk_norm = false;           // olmoe: RMSNorm over the whole q and k projections, before RoPE
  bool qk_norm_per_head = false;  // qwen3_moe: RMSNorm of size head_dim on every q and k head
  std::optional<float> clip_qkv;  // olmoe: q, k, v clamped to [-clip, clip] after the norms
  std::optional<LatentAttention> mla;  // deepseek_v2/v3 (then wq..wo are not used)

  // Mixture of experts. n_routed_experts == 0 means a dense model.
  int n_routed_experts = 0;  // mixtral: num_local_experts; qwen2_moe, olmoe: num_experts
  int n_shared_experts = 0;  // qwen2_moe: 1 (one shared expert); mixtral, olmoe: 0
  int num_experts_per_tok = 0;
  int moe_intermediate_size = 0;  // routed expert width (mixtral, olmoe: intermediate_size)
  int shared_expert_intermediate_size = 0;  // all shared experts as one MLP; deepseek:
                                            // moe_intermediate_size * n_shared_experts
  bool shared_expert_gated = false;  // qwen2_moe: shared output * sigmoid(shared_expert_gate x)
  int first_k_dense_replace = 0;     // deepseek
  int moe_layer_freq = 1;            // deepseek
  int decoder_sparse_step = 1;       // qwen2/3_moe: MoE iff (layer + 1) % step == 0 ...
  std::vector<int> mlp_only_layers;  // qwen2/3_moe: ... and the layer is not listed here
  bool norm_topk_prob = false;
  bool norm_single_expert = true;        // renormalise also at k == 1 (deepseek's HF code skips it)
  std::string scoring_func = "softmax";  // deepseek_v3: "sigmoid"
  TopkMethod topk_method = TopkMethod::greedy;
  int n_group = 1, topk_group = 1;     // group routing: experts in n_group equal groups
  float routed_scaling_factor = 1.0f;  // deepseek_v2/v3: gate weights times this
  bool score_correction_bias = false;  // deepseek_v3: e_score_correction_bias steers selection

  // DeepSeek-V2/V3: a token reaches only the experts of its topk_group best groups.
  bool routes_by_groups() const { return topk_method != TopkMethod::greedy && n_group > 1; }
  bool is_moe_layer(int layer) const;
  std::vector<int> moe_layers() const;  // layer ids, in order
  int num_moe_layers() const { return static_cast<int>(moe_layers().size()); }
};

// Throws EngineError naming `source` and the offending field.
ModelConfig parse_model_config(const std::string& json_text, const std::string& source);
// config.json, plus the ends of a reply that generation_config.json names.
ModelConfig load_model_config(const std::filesystem::path& model_dir);

// generation_config.json may name more ends of a reply than config.json (chat
// models: <|im_end|>); adds them to stop_token_ids. Throws naming the file.
void read_generation_config(const std::filesystem::path& model_dir, ModelConfig& config);

}  // namespace moescope
