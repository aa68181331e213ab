#include "model/model.h"

#include <map>

#include "core/error.h"
#include "core/path_status.h"
#include "core/text_file.h"
#include "model/gguf_model.h"
#include "model/tensor_view.h"

namespace moescope {
namespace {

// The names of an MLP's three projections: HF's gate/up/down_proj, Mixtral's w1/w3/w2.
struct MlpNames {
  const char *gate = "gate_proj", *up = "up_proj", *down = "down_proj";
};

// Looks tensors up by name (in a checkpoint's files, or made by a TensorMaker) and checks
// their shape against the config.
class WeightBinder {
 public:
  WeightBinder(const SafetensorsArchive& archive, const std::filesystem::path& dir)
      : archive_(&archive), where_(dir.string()) {}
  WeightBinder(TensorMaker& maker, const std::string& name) : maker_(&maker), where_(name) {}

  TensorView bind(const std::string& name, std::vector<std::int64_t> expected) const {
    const TensorView t = maker_ ? maker_->make(name, expected) : find(name, expected);
    if (t.shape != expected)
      throw EngineError(source_of(name) + ": tensor '" + name + "' has shape " +
                        shape_string(t.shape) + ", config.json expects " + shape_string(expected));
    return t;
  }

  MlpWeights bind_mlp(const std::string& prefix, std::int64_t hidden, std::int64_t width,
                      MlpNames n = {}) const {
    return {bind(prefix + n.gate + ".weight", {width, hidden}),
            bind(prefix + n.up + ".weight", {width, hidden}),
            bind(prefix + n.down + ".weight", {hidden, width})};
  }

  std::vector<float> bind_f32(const std::string& name, std::int64_t size) const {
    return to_f32(bind(name, {size}));
  }

  // Whether the checkpoint holds `name` (which layout it uses); a maker makes the per-expert one.
  bool has(const std::string& name) const { return archive_ && archive_->find(name) != nullptr; }

 private:
  const TensorView& find(const std::string& name, const std::vector<std::int64_t>& expected) const {
    const TensorView* t = archive_->find(name);
    if (!t)
      throw EngineError(where_ + ": tensor '" + name + "' is missing (config.json expects shape " +
                        shape_string(expected) + ")");
    return *t;
  }

  std::string source_of(const std::string& name) const {
    return archive_ ? archive_->source_of(name) : where_;
  }

  const SafetensorsArchive* archive_ = nullptr;
  TensorMaker* maker_ = nullptr;
  std::string where_;  // the model directory, or the built model's name
};

// Where a family keeps its MoE tensors inside "model.layers.N.".
struct MoeNames {
  const char* block;   // the MoE module: router "gate", "experts.E."
  MlpNames expert;     // projections of a routed expert
  const char* shared;  // shared experts inside the block, or nullptr
};

MoeNames moe_names(Family family) {
  switch (family) {
    case Family::mixtral:
      return {"block_sparse_moe.", {"w1", "w3", "w2"}, nullptr};
    case Family::qwen2_moe:
      return {"mlp.", {}, "shared_expert."};
    case Family::olmoe:
    case Family::qwen3_moe:
      return {"mlp.", {}, nullptr};
    case Family::deepseek:
    case Family::deepseek_v2:
    case Family::deepseek_v3:
      break;
  }
  return {"mlp.", {}, "shared_experts."};
}

// transformers 5 holds a layer's routed experts as two fused tensors under "mlp.experts."
// (and saves them so with save_original_format=False): gate and up stacked per expert,
// [experts, 2 * width, hidden], and down, [experts, hidden, width]. Each expert is a view.
void bind_fused_experts(const WeightBinder& w, const ModelConfig& c, const std::string& experts,
                        LayerWeights& l) {
  const std::int64_t n = c.n_routed_experts, hidden = c.hidden_size,
                     width = c.moe_intermediate_size;
  const TensorView gate_up = w.bind(experts + "gate_up_proj", {n, 2 * width, hidden});
  const TensorView down = w.bind(experts + "down_proj", {n, hidden, width});
  for (std::int64_t e = 0; e < n; ++e)
    l.experts.push_back({rows_of(gate_up, e * 2 * width, width),
                         rows_of(gate_up, e * 2 * width + width, width),
                         rows_of(down, e * hidden, hidden)});
}

void bind_moe(const WeightBinder& w, const ModelConfig& c, const std::string& layer,
              LayerWeights& l) {
  const MoeNames names = moe_names(c.family);
  const std::string fused = layer + "mlp.experts.";
  const bool is_fused = w.has(fused + "gate_up_proj");
  const std::string p = layer + (is_fused ? "mlp." : names.block);
  const std::int64_t hidden = c.hidden_size;
  if (is_fused && w.has(p + "experts.0." + names.expert.gate + ".weight"))
    throw EngineError(layer + "*: both fused ('" + fused + "gate_up_proj') and per-expert ('" + p +
                      "experts.0." + names.expert.gate +
                      ".weight') tensors; which one is the "
                      "model is not clear");
  l.router = w.bind(p + "gate.weight", {c.n_routed_experts, hidden});
  if (c.score_correction_bias)
    l.score_bias = w.bind_f32(p + "gate.e_score_correction_bias", c.n_routed_experts);
  if (is_fused)
    bind_fused_experts(w, c, fused, l);
  else
    for (int e = 0; e < c.n_routed_experts; ++e)
      l.experts.push_back(w.bind_mlp(p + "experts." + std::to_string(e) + ".", hidden,
                                     c.moe_intermediate_size, names.expert));
  if (c.n_shared_experts > 0)
    l.shared = w.bind_mlp(p + names.shared, hidden, c.shared_expert_intermediate_size);
  if (c.shared_expert_gated) l.shared_gate = w.bind(p + "shared_expert_gate.weight", {1, hidden});
}

// DeepSeek-V2/V3's multi-head latent attention, by transformers' names.
void bind_latent_attention(const WeightBinder& w, const ModelConfig& c, const std::string& attn,
                           LayerWeights& l) {
  const LatentAttention& a = *c.mla;
  const std::int64_t hidden = c.hidden_size, heads = c.num_attention_heads;
  const std::int64_t q_dim = heads * (a.qk_nope_head_dim + a.qk_rope_head_dim);
  LatentAttentionWeights m;
  if (a.q_lora_rank > 0) {
    m.q_a = w.bind(attn + "q_a_proj.weight", {a.q_lora_rank, hidden});
    m.q_a_norm = w.bind_f32(attn + "q_a_layernorm.weight", a.q_lora_rank);
    l.wq = w.bind(attn + "q_b_proj.weight", {q_dim, a.q_lora_rank});
  } else {
    l.wq = w.bind(attn + "q_proj.weight", {q_dim, hidden});
  }
  m.kv_a =
      w.bind(attn + "kv_a_proj_with_mqa.weight", {a.kv_lora_rank + a.qk_rope_head_dim, hidden});
  m.kv_a_norm = w.bind_f32(attn + "kv_a_layernorm.weight", a.kv_lora_rank);
  m.kv_b = w.bind(attn + "kv_b_proj.weight",
                  {heads * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank});
  l.wo = w.bind(attn + "o_proj.weight", {hidden, heads * a.v_head_dim});
  l.mla = std::move(m);
}

LayerWeights bind_layer(const WeightBinder& w, const ModelConfig& c, int i) {
  const std::string p = "model.layers." + std::to_string(i) + ".";
  const std::int64_t hidden = c.hidden_size;
  const std::int64_t q_dim = std::int64_t(c.num_attention_heads) * c.head_dim;
  const std::int64_t kv_dim = std::int64_t(c.num_key_value_heads) * c.head_dim;
  LayerWeights l;
  l.attn_norm = to_f32(w.bind(p + "input_layernorm.weight", {hidden}));
  l.ffn_norm = to_f32(w.bind(p + "post_attention_layernorm.weight", {hidden}));
  l.is_moe = c.is_moe_layer(i);
  if (c.mla) {
    bind_latent_attention(w, c, p + "self_attn.", l);
  } else {
    l.wq = w.bind(p + "self_attn.q_proj.weight", {q_dim, hidden});
    l.wk = w.bind(p + "self_attn.k_proj.weight", {kv_dim, hidden});
    l.wv = w.bind(p + "self_attn.v_proj.weight", {kv_dim, hidden});
    l.wo = w.bind(p + "self_attn.o_proj.weight", {hidden, q_dim});
  }
  if (c.qkv_bias) {
    l.bq = w.bind_f32(p + "self_attn.q_proj.bias", q_dim);
    l.bk = w.bind_f32(p + "self_attn.k_proj.bias", kv_dim);
    l.bv = w.bind_f32(p + "self_attn.v_proj.bias", kv_dim);
  }
  if (c.qk_norm || c.qk_norm_per_head) {
    l.q_norm = w.bind_f32(p + "self_attn.q_norm.weight", c.qk_norm ? q_dim : c.head_dim);
    l.k_norm = w.bind_f32(p + "self_attn.k_norm.weight", c.qk_norm ? kv_dim : c.head_dim);
  }
  if (l.is_moe)
    bind_moe(w, c, p, l);
  else
    l.dense = w.bind_mlp(p + "mlp.", hidden, c.intermediate_size);
  return l;
}

ModelWeights bind_weights(const WeightBinder& w, const ModelConfig& c,
                          const LoadProgress& progress) {
  const std::int64_t vocab = c.vocab_size, hidden = c.hidden_size;
  ModelWeights weights;
  weights.embed = w.bind("model.embed_tokens.weight", {vocab, hidden});
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    if (progress && !progress(i, c.num_hidden_layers)) throw EngineError("loading cancelled");
    weights.layers.push_back(bind_layer(w, c, i));
  }
  weights.final_norm = to_f32(w.bind("model.norm.weight", {hidden}));
  weights.lm_head =
      c.tie_word_embeddings ? weights.embed : w.bind("lm_head.weight", {vocab, hidden});
  if (progress) progress(c.num_hidden_layers, c.num_hidden_layers);
  return weights;
}

}  // namespace

std::unique_ptr<Model> Model::load(const std::filesystem::path& dir, const LoadProgress& progress) {
  if (dir.extension() == ".gguf") return load_gguf_model(dir, progress);
  const std::filesystem::file_status status = path_status(dir);
  if (!std::filesystem::is_directory(status))
    throw EngineError(dir.string() + (std::filesystem::exists(status)
                                          ? ": a file, not a model directory (give the folder "
                                            "that holds config.json)"
                                          : ": not a model directory (it does not exist)"));
  std::unique_ptr<Model> m(new Model);
  m->dir_ = dir;
  auto d = dir;
  if (!d.has_filename()) d = d.parent_path();  // "models/foo/" -> "foo"
  m->name_ = d.filename().string();
  m->config_json_ = read_text_file(dir / "config.json");
  m->config_ = parse_model_config(m->config_json_, (dir / "config.json").string());
  read_generation_config(dir, m->config_);
  m->archive_ = std::make_unique<SafetensorsArchive>(dir);
  m->weights_ = bind_weights(WeightBinder(*m->archive_, dir), m->config_, progress);
  return m;
}

std::unique_ptr<Model> Model::build(std::string name, const ModelConfig& config,
                                    std::string config_json, std::unique_ptr<TensorMaker> maker,
                                    std::filesystem::path dir, const LoadProgress& progress) {
  std::unique_ptr<Model> m(new Model);
  m->dir_ = std::move(dir);
  m->name_ = std::move(name);
  m->config_ = config;
  m->config_json_ = std::move(config_json);
  m->maker_ = std::move(maker);
  m->weights_ = bind_weights(WeightBinder(*m->maker_, m->name_), m->config_, progress);
  return m;
}

std::size_t Model::mapped_bytes() const {
  return archive_ ? archive_->mapped_bytes() : maker_->bytes();
}

std::string Model::weight_dtype() const {
  return std::string(dtype_name(weights_.embed.dtype));
}

}  // namespace moescope
