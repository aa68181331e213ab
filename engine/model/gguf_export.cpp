#include "model/gguf_export.h"

#include <cmath>
#include <cstring>
#include <functional>

#include "core/error.h"
#include "model/gguf_names.h"
#include "model/gguf_writer.h"
#include "model/quantize.h"

namespace moescope {
namespace fs = std::filesystem;
namespace {

// A tensor to write, as rows of f32 weights: row(r, out) widens row r.
struct Rows {
  std::vector<std::int64_t> shape;  // outermost first; rows = all but the last dimension
  std::function<void(std::int64_t, float*)> row;
};

Rows rows_of_vector(const std::vector<float>& v) {
  return {{std::int64_t(v.size())},
          [&v](std::int64_t, float* out) { std::memcpy(out, v.data(), v.size() * sizeof(float)); }};
}

Rows rows_of_view(const TensorView& t) {
  return {t.shape, [&t](std::int64_t r, float* out) { widen(t, r * t.cols(), t.cols(), out); }};
}

// [experts, rows, cols]: expert e's row r is row e * rows + r.
Rows stacked(std::vector<const TensorView*> experts) {
  const TensorView& first = *experts.front();
  const std::int64_t rows = first.rows(), cols = first.cols();
  return {{std::int64_t(experts.size()), rows, cols},
          [experts = std::move(experts), rows, cols](std::int64_t r, float* out) {
            widen(*experts[std::size_t(r / rows)], (r % rows) * cols, cols, out);
          }};
}

// llama.cpp's interleaved RoPE rows (gguf_model.cpp undoes this): GGUF row 2i + j of a
// head of size d is HF row j * d/2 + i.
Rows rope_permuted(const TensorView& t, std::int64_t d) {
  return {t.shape, [&t, d](std::int64_t r, float* out) {
            const std::int64_t head = r / d, i = (r % d) / 2, j = r % 2;
            widen(t, (head * d + j * d / 2 + i) * t.cols(), t.cols(), out);
          }};
}

class Export {
 public:
  Export(const Model& model, DType weights, const std::string& architecture)
      : model_(model), weights_(weights), w_(architecture) {}

  void tensor(const std::string& hf_name, Rows rows, bool keep_f32 = false) {
    const std::optional<GgufName> g = gguf_name_of(hf_name);
    if (!g) throw EngineError("GGUF export: no llama.cpp name for '" + hf_name + "'");
    const std::int64_t cols = rows.shape.back();
    DType type = DType::f32;
    if (rows.shape.size() > 1 && !keep_f32)
      type = cols % block_layout(weights_).elements == 0 ? weights_ : DType::f16;
    const std::string name = g->name, source = model_.name();
    auto row = std::move(rows.row);
    std::int64_t n_rows = 1;
    for (std::size_t i = 0; i + 1 < rows.shape.size(); ++i) n_rows *= rows.shape[i];
    w_.add_tensor(name, type, rows.shape, [=](std::uint8_t* out) {
      std::vector<float> x(std::size_t(cols), 0.0f);
      const std::int64_t row_bytes = storage_bytes(type, cols);
      for (std::int64_t r = 0; r < n_rows; ++r, out += row_bytes) {
        row(r, x.data());
        for (float v : x)
          if (!std::isfinite(v))
            throw EngineError(source + ": tensor '" + hf_name +
                              "' holds a value that is not finite");
        encode(type, x, out);
      }
    });
  }

  GgufWriter& writer() { return w_; }

 private:
  static void encode(DType type, const std::vector<float>& x, std::uint8_t* out) {
    if (type == DType::f32) {
      std::memcpy(out, x.data(), x.size() * sizeof(float));
    } else if (type == DType::f16 || type == DType::bf16) {
      for (std::size_t i = 0; i < x.size(); ++i) {
        const std::uint16_t h = type == DType::f16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
    } else {
      quantize_row(type, x.data(), std::int64_t(x.size()), out);
    }
  }

  const Model& model_;
  DType weights_;
  GgufWriter w_;
};

// Whether export_gguf_model writes matrices as `t`.
bool exportable(DType t) {
  return t == DType::f16 || t == DType::bf16 || can_quantize(t);
}

// llama.cpp's LLAMA_FTYPE_MOSTLY_* for a file whose matrices are `t`.
std::uint32_t llama_file_type(DType t) {
  switch (t) {
    case DType::f16:
      return 1;
    case DType::bf16:
      return 32;
    case DType::q8_0:
      return 7;
    default:
      return 2;  // Q4_0
  }
}

// llama.cpp's keys for the architecture (convert_hf_to_gguf.py); gguf_model.cpp reads them.
void add_config(GgufWriter& w, const Model& model, DType weights) {
  const ModelConfig& c = model.config();
  const std::string a = std::string(gguf_architecture_of(c.family)->name) + ".";
  w.add("general.name", gguf_string(model.name()));
  w.add("general.file_type", gguf_u32(llama_file_type(weights)));
  w.add("general.quantization_version", gguf_u32(2));
  w.add(a + "block_count", gguf_u32(std::uint32_t(c.num_hidden_layers)));
  w.add(a + "context_length", gguf_u32(std::uint32_t(c.max_position_embeddings)));
  w.add(a + "embedding_length", gguf_u32(std::uint32_t(c.hidden_size)));
  w.add(a + "feed_forward_length", gguf_u32(std::uint32_t(c.intermediate_size)));
  w.add(a + "attention.head_count", gguf_u32(std::uint32_t(c.num_attention_heads)));
  w.add(a + "attention.head_count_kv", gguf_u32(std::uint32_t(c.num_key_value_heads)));
  w.add(a + "attention.layer_norm_rms_epsilon", gguf_f32(c.rms_norm_eps));
  w.add(a + "rope.freq_base", gguf_f32(c.rope_theta));
  w.add(a + "rope.dimension_count", gguf_u32(std::uint32_t(c.head_dim)));
  const bool linear = c.rope_linear_factor != 1.0f;
  w.add(a + "rope.scaling.type", gguf_string(linear ? "linear" : "none"));
  if (linear) w.add(a + "rope.scaling.factor", gguf_f32(c.rope_linear_factor));
  w.add(a + "vocab_size", gguf_u32(std::uint32_t(c.vocab_size)));
  if (c.family != Family::deepseek) {  // every layer MoE
    w.add(a + "expert_count", gguf_u32(std::uint32_t(c.n_routed_experts)));
    w.add(a + "expert_used_count", gguf_u32(std::uint32_t(c.num_experts_per_tok)));
    if (c.family == Family::qwen2_moe) {
      w.add(a + "expert_feed_forward_length", gguf_u32(std::uint32_t(c.moe_intermediate_size)));
      w.add(a + "expert_shared_feed_forward_length",
            gguf_u32(std::uint32_t(c.shared_expert_intermediate_size)));
    }
    if (c.family != Family::mixtral && c.norm_topk_prob)
      w.add(a + "expert_weights_norm", gguf_bool(true));
    if (c.clip_qkv) w.add(a + "attention.clamp_kqv", gguf_f32(*c.clip_qkv));
  } else if (c.n_routed_experts > 0) {
    w.add(a + "leading_dense_block_count", gguf_u32(std::uint32_t(c.first_k_dense_replace)));
    w.add(a + "expert_feed_forward_length", gguf_u32(std::uint32_t(c.moe_intermediate_size)));
    w.add(a + "expert_weights_scale", gguf_f32(1.0f));
    w.add(a + "expert_gating_func", gguf_u32(1));  // LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX
    w.add(a + "expert_count", gguf_u32(std::uint32_t(c.n_routed_experts)));
    w.add(a + "expert_shared_count", gguf_u32(std::uint32_t(c.n_shared_experts)));
    w.add(a + "expert_used_count", gguf_u32(std::uint32_t(c.num_experts_per_tok)));
    if (c.norm_topk_prob) w.add(a + "expert_weights_norm", gguf_bool(true));
  }
  if (c.bos_token_id)
    w.add("tokenizer.ggml.bos_token_id", gguf_u32(std::uint32_t(*c.bos_token_id)));
  if (c.eos_token_id)
    w.add("tokenizer.ggml.eos_token_id", gguf_u32(std::uint32_t(*c.eos_token_id)));
}

void check_representable(const Model& model) {
  const ModelConfig& c = model.config();
  const GgufArchitecture* architecture = gguf_architecture_of(c.family);
  if (!architecture)
    throw EngineError(model.name() + ": model_type \"" + c.model_type +
                      "\" cannot be written as GGUF (only DeepSeekMoE, Mixtral, Qwen2-MoE and "
                      "OLMoE, as llama.cpp's deepseek, llama, qwen2moe and olmoe)");
  const int first_moe = c.family == Family::deepseek ? c.first_k_dense_replace : 0;
  for (int l = 0; l < c.num_hidden_layers; ++l)
    if (c.is_moe_layer(l) != (c.n_routed_experts > 0 && l >= first_moe))
      throw EngineError(model.name() + ": its dense layers have no key in llama.cpp's " +
                        architecture->name);
}

std::string layer_name(int l, const char* what) {
  return "model.layers." + std::to_string(l) + "." + what;
}

void add_mlp(Export& e, int l, const char* prefix, const MlpWeights& m) {
  const std::string p = prefix;
  e.tensor(layer_name(l, (p + "gate_proj.weight").c_str()), rows_of_view(m.gate));
  e.tensor(layer_name(l, (p + "up_proj.weight").c_str()), rows_of_view(m.up));
  e.tensor(layer_name(l, (p + "down_proj.weight").c_str()), rows_of_view(m.down));
}

void add_experts(Export& e, int l, const std::vector<MlpWeights>& experts) {
  std::vector<const TensorView*> gate, up, down;
  for (const MlpWeights& m : experts) {
    gate.push_back(&m.gate);
    up.push_back(&m.up);
    down.push_back(&m.down);
  }
  e.tensor(layer_name(l, "mlp.experts.0.gate_proj.weight"), stacked(gate));
  e.tensor(layer_name(l, "mlp.experts.0.up_proj.weight"), stacked(up));
  e.tensor(layer_name(l, "mlp.experts.0.down_proj.weight"), stacked(down));
}

}  // namespace

void check_not_overwriting(const fs::path& input, const fs::path& out) {
  std::error_code ec;
  if (fs::is_directory(out, ec))
    throw EngineError(out.string() + ": is a folder (--out names the .gguf file to write)");
  if (!fs::exists(out, ec)) return;
  const bool same = fs::equivalent(input, out, ec);
  bool inside = false;
  if (fs::is_directory(input, ec))
    for (const auto& entry : fs::directory_iterator(input, ec))
      inside = inside || fs::equivalent(entry.path(), out, ec);
  if (same || inside)
    throw EngineError(out.string() + ": is the input model's own file; refusing to overwrite it");
}

void export_gguf_model(const Model& model, DType weights, const GgufMetadata& extra,
                       const fs::path& out) {
  if (!exportable(weights))
    throw EngineError("GGUF export: weights as " + std::string(dtype_name(weights)) +
                      " are not supported (Q8_0, Q4_0, F16, BF16)");
  check_representable(model);
  const ModelConfig& c = model.config();
  const ModelWeights& mw = model.weights();
  const GgufArchitecture& architecture = *gguf_architecture_of(c.family);
  Export e(model, weights, architecture.name);
  add_config(e.writer(), model, weights);
  for (const auto& [key, value] : extra) e.writer().add(key, value);

  e.tensor("model.embed_tokens.weight", rows_of_view(mw.embed));
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const LayerWeights& L = mw.layers[std::size_t(l)];
    e.tensor(layer_name(l, "input_layernorm.weight"), rows_of_vector(L.attn_norm));
    const auto qk = [&](const TensorView& t) {
      return architecture.rope_permuted ? rope_permuted(t, c.head_dim) : rows_of_view(t);
    };
    e.tensor(layer_name(l, "self_attn.q_proj.weight"), qk(L.wq));
    e.tensor(layer_name(l, "self_attn.k_proj.weight"), qk(L.wk));
    e.tensor(layer_name(l, "self_attn.v_proj.weight"), rows_of_view(L.wv));
    e.tensor(layer_name(l, "self_attn.o_proj.weight"), rows_of_view(L.wo));
    const std::pair<const char*, const std::vector<float>*> vectors[] = {
        {"self_attn.q_proj.bias", &L.bq},
        {"self_attn.k_proj.bias", &L.bk},
        {"self_attn.v_proj.bias", &L.bv},
        {"self_attn.q_norm.weight", &L.q_norm},
        {"self_attn.k_norm.weight", &L.k_norm}};
    for (const auto& [name, values] : vectors)  // Qwen2-MoE's biases, OLMoE's q/k norms
      if (!values->empty()) e.tensor(layer_name(l, name), rows_of_vector(*values));
    e.tensor(layer_name(l, "post_attention_layernorm.weight"), rows_of_vector(L.ffn_norm));
    if (!L.is_moe) {
      add_mlp(e, l, "mlp.", L.dense);
      continue;
    }
    e.tensor(layer_name(l, "mlp.gate.weight"), rows_of_view(L.router), /*keep_f32=*/true);
    add_experts(e, l, L.experts);
    if (L.shared) add_mlp(e, l, "mlp.shared_experts.", *L.shared);
    if (L.shared_gate)  // Qwen2-MoE's sigmoid gate of the shared expert, [1, hidden]
      e.tensor(layer_name(l, "mlp.shared_expert_gate.weight"), rows_of_view(*L.shared_gate),
               /*keep_f32=*/true);
  }
  e.tensor("model.norm.weight", rows_of_vector(mw.final_norm));
  if (!c.tie_word_embeddings) e.tensor("lm_head.weight", rows_of_view(mw.lm_head));
  e.writer().write(out);
}

}  // namespace moescope
