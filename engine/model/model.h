#pragma once
// A loaded MoE checkpoint (DeepSeekMoE, Mixtral, Qwen2-MoE, OLMoE, Qwen3-MoE): its config and
// validated views of every weight, still inside the safetensors maps (no copy of
// the big matrices).
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/safetensors.h"

namespace moescope {

// A SiLU-gated MLP: down(silu(gate x) * up x). Dense FFN, routed or shared expert.
struct MlpWeights {
  TensorView gate;  // [width, hidden]
  TensorView up;    // [width, hidden]
  TensorView down;  // [hidden, width]
};

// Multi-head latent attention (DeepSeek-V2/V3); wq is q_proj, or q_b_proj after q_a.
struct LatentAttentionWeights {
  std::optional<TensorView> q_a;  // q_lora_rank: [q_lora_rank, hidden]
  std::vector<float> q_a_norm;    // q_lora_rank: [q_lora_rank]
  TensorView kv_a;                // [kv_lora_rank + qk_rope_head_dim, hidden]
  std::vector<float> kv_a_norm;   // [kv_lora_rank]
  TensorView kv_b;                // [heads * (qk_nope_head_dim + v_head_dim), kv_lora_rank]
};

struct LayerWeights {
  std::vector<float> attn_norm;  // [hidden]
  std::vector<float> ffn_norm;   // [hidden]
  TensorView wq;                 // [heads * head_dim, hidden] (MLA: q_proj or q_b_proj)
  TensorView wk;                 // [kv_heads * head_dim, hidden]
  TensorView wv;                 // [kv_heads * head_dim, hidden]
  TensorView wo;                 // [hidden, heads * head_dim] (MLA: heads * v_head_dim)
  std::optional<LatentAttentionWeights> mla;  // deepseek_v2/v3: wk and wv are not bound
  std::vector<float> bq, bk, bv;     // qkv_bias: [heads * head_dim], [kv_dim], [kv_dim]; else empty
  std::vector<float> q_norm, k_norm;  // qk_norm: [heads * head_dim], [kv_dim];
                                      // qk_norm_per_head: [head_dim] each; else empty
  bool is_moe = false;
  MlpWeights dense;                  // dense layers only, width intermediate_size
  TensorView router;                 // MoE: [n_routed_experts, hidden]
  std::vector<float> score_bias;     // deepseek_v3: e_score_correction_bias [n_routed_experts]
  std::vector<MlpWeights> experts;   // MoE: n_routed_experts, width moe_intermediate_size
  std::optional<MlpWeights> shared;  // MoE with shared experts: width shared_expert_intermediate_size
  std::optional<TensorView> shared_gate;  // shared_expert_gated: [1, hidden]
};

struct ModelWeights {
  TensorView embed;              // [vocab, hidden]
  std::vector<LayerWeights> layers;
  std::vector<float> final_norm;  // [hidden]
  TensorView lm_head;            // [vocab, hidden] (the embedding when tied)
};

// Called with (done, total) while weights are bound; returning false cancels.
using LoadProgress = std::function<bool(int done, int total)>;

// Makes the tensors of a model that comes from no safetensors checkpoint (random weights,
// a GGUF file): asked once for every tensor the binder needs, by its checkpoint name and
// with the shape config.json implies, and owns what it makes or maps.
class TensorMaker {
 public:
  virtual ~TensorMaker() = default;
  virtual TensorView make(const std::string& name, const std::vector<std::int64_t>& shape) = 0;
  virtual std::size_t bytes() const = 0;  // of everything made so far
};

class Model {
 public:
  // A model directory, or a .gguf file (model/gguf_model.h). Throws EngineError naming
  // the file and the tensor on any problem.
  static std::unique_ptr<Model> load(const std::filesystem::path& dir,
                                     const LoadProgress& progress = {});
  // A model of `config` whose tensors `maker` makes, bound by the same names and shape
  // checks as a checkpoint's (the per-expert layout). `name` stands in for the directory's;
  // `dir` (where a tokenizer is looked for) may be empty.
  static std::unique_ptr<Model> build(std::string name, const ModelConfig& config,
                                      std::string config_json, std::unique_ptr<TensorMaker> maker,
                                      std::filesystem::path dir = {},
                                      const LoadProgress& progress = {});

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::string& name() const { return name_; }  // directory (or GGUF file) name
  std::string config_json() const { return config_json_; }  // config.json as loaded
  std::size_t mapped_bytes() const;  // the mapped files, or the bytes the maker made
  std::string weight_dtype() const;        // dtype of the bulk of the weights

 private:
  Model() = default;
  std::filesystem::path dir_;
  std::string name_;
  ModelConfig config_;
  std::string config_json_;
  std::unique_ptr<SafetensorsArchive> archive_;  // a checkpoint's tensors, or
  std::unique_ptr<TensorMaker> maker_;           // the tensors made in memory
  ModelWeights weights_;
};

}  // namespace moescope
