#include "model/gguf_model.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "model/gguf.h"
#include "model/gguf_names.h"

namespace moescope {
namespace {

// Typed reads of the metadata; every failure names the file and the key.
class Metadata {
 public:
  Metadata(const GgufFile& file, std::string arch) : file_(file), arch_(std::move(arch)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw EngineError(file_.path().string() + ": metadata '" + key + "' " + problem);
  }
  std::string key(const char* suffix) const { return arch_ + "." + suffix; }

  // An integer key of the architecture in [min, max]; `fallback` when absent.
  std::optional<int> count(const char* suffix, int min, int max,
                           std::optional<int> fallback = std::nullopt) const {
    const std::string k = key(suffix);
    const GgufValue* v = file_.find(k);
    if (!v) return fallback;
    std::int64_t n = 0;
    if (const auto* u = std::get_if<std::uint64_t>(&v->scalar))
      n = *u > std::uint64_t(max) ? std::int64_t(max) + 1 : std::int64_t(*u);
    else if (const auto* i = std::get_if<std::int64_t>(&v->scalar))
      n = *i;
    else
      fail(k, "must be an integer, not " + std::string(gguf_type_name(v->type)));
    if (n < min || n > max)
      fail(k, "is out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
    return int(n);
  }
  int required_count(const char* suffix, int min, int max) const {
    const auto n = count(suffix, min, max);
    if (!n) fail(key(suffix), "is missing");
    return *n;
  }

  std::optional<double> number(const char* suffix) const {
    const GgufValue* v = file_.find(key(suffix));
    if (!v) return std::nullopt;
    if (const auto* d = std::get_if<double>(&v->scalar)) return *d;
    fail(key(suffix), "must be a float, not " + std::string(gguf_type_name(v->type)));
  }
  double positive(const char* suffix, double fallback) const {
    const double d = number(suffix).value_or(fallback);
    if (!(d > 0 && d < 1e30)) fail(key(suffix), "must be a positive number");
    return d;
  }

  std::optional<std::string> text(const std::string& k) const {
    const GgufValue* v = file_.find(k);
    if (!v) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&v->scalar)) return *s;
    fail(k, "must be a string, not " + std::string(gguf_type_name(v->type)));
  }
  std::optional<bool> flag(const char* suffix) const {
    const GgufValue* v = file_.find(key(suffix));
    if (!v) return std::nullopt;
    if (const auto* b = std::get_if<bool>(&v->scalar)) return *b;
    fail(key(suffix), "must be a bool, not " + std::string(gguf_type_name(v->type)));
  }
  std::optional<int> token_id(const char* k) const {
    const GgufValue* v = file_.find(k);
    if (!v) return std::nullopt;
    const auto* u = std::get_if<std::uint64_t>(&v->scalar);
    if (!u || *u > std::uint64_t(INT32_MAX)) fail(k, "must be a token id");
    return int(*u);
  }

 private:
  const GgufFile& file_;
  std::string arch_;
};

// The keys every architecture spells alike: attention, RoPE, vocabulary, special tokens.
ModelConfig common_config(const Metadata& m, const GgufFile& file, const GgufArchitecture& arch) {
  ModelConfig c;
  c.model_type = arch.model_type;
  c.family = arch.family;
  c.architecture = arch.hf_architecture;
  c.num_hidden_layers = m.required_count("block_count", 1, 1 << 10);
  c.hidden_size = m.required_count("embedding_length", 1, 1 << 16);
  c.intermediate_size = m.required_count("feed_forward_length", 1, 1 << 20);
  c.num_attention_heads = m.required_count("attention.head_count", 1, 1 << 12);
  c.num_key_value_heads = *m.count("attention.head_count_kv", 1, 1 << 12, c.num_attention_heads);
  if (c.hidden_size % c.num_attention_heads != 0 ||
      c.num_attention_heads % c.num_key_value_heads != 0)
    m.fail(m.key("attention.head_count"), "does not divide embedding_length and head_count_kv");
  c.head_dim = c.hidden_size / c.num_attention_heads;
  if (*m.count("rope.dimension_count", 1, 1 << 16, c.head_dim) != c.head_dim)
    m.fail(m.key("rope.dimension_count"),
           "differs from the head size (partial RoPE is not supported)");
  c.max_position_embeddings = *m.count("context_length", 1, 1 << 28, 4096);
  c.rms_norm_eps = float(m.positive("attention.layer_norm_rms_epsilon", 1e-6));
  c.rope_theta = float(m.positive("rope.freq_base", 10000.0));
  const std::string scaling = m.text(m.key("rope.scaling.type")).value_or("none");
  if (scaling == "linear")
    c.rope_linear_factor = float(m.positive("rope.scaling.factor", 1.0));
  else if (scaling != "none")
    m.fail(m.key("rope.scaling.type"), "\"" + scaling + "\" is not supported (none, linear)");
  const auto embed = file.tensors().find("token_embd.weight");
  if (embed == file.tensors().end())
    throw EngineError(file.path().string() + ": tensor 'token_embd.weight' is missing");
  c.vocab_size = *m.count("vocab_size", 1, 1 << 22,
                          int(std::min<std::int64_t>(embed->second.rows(), 1 << 23)));
  c.tie_word_embeddings = !file.tensors().count("output.weight");
  c.bos_token_id = m.token_id("tokenizer.ggml.bos_token_id");
  c.eos_token_id = m.token_id("tokenizer.ggml.eos_token_id");
  if (c.eos_token_id) c.stop_token_ids = {*c.eos_token_id};
  c.torch_dtype = std::string(dtype_name(embed->second.dtype));
  return c;
}

// The experts: softmax scores (the only gating llama.cpp gives these architectures), top
// expert_used_count, every layer MoE but deepseek's leading dense ones.
void read_experts(const Metadata& m, ModelConfig& c) {
  c.n_routed_experts = *m.count("expert_count", 0, 1 << 13, 0);
  if (c.n_routed_experts == 0) {
    if (c.family == Family::deepseek) return;  // a dense DeepSeek layout is still one
    m.fail(m.key("expert_count"), "is missing or 0: not a mixture of experts");
  }
  c.num_experts_per_tok = m.required_count("expert_used_count", 1, c.n_routed_experts);
  if (m.number("expert_weights_scale").value_or(1.0) != 1.0)
    m.fail(m.key("expert_weights_scale"), "other than 1 is not supported");
  if (m.count("expert_gating_func", 0, 1 << 8, 1) != 1)  // LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX
    m.fail(m.key("expert_gating_func"), "is not softmax (the only gating supported)");
  c.norm_topk_prob = m.flag("expert_weights_norm").value_or(false);
  switch (c.family) {
    case Family::deepseek:           // DeepSeekMoE: shared experts, leading dense layers
      c.norm_single_expert = false;  // as config.json's deepseek
      c.moe_intermediate_size = m.required_count("expert_feed_forward_length", 1, 1 << 20);
      c.n_shared_experts = *m.count("expert_shared_count", 0, 1 << 8, 0);
      c.shared_expert_intermediate_size = c.moe_intermediate_size * c.n_shared_experts;
      c.first_k_dense_replace = *m.count("leading_dense_block_count", 0, c.num_hidden_layers, 0);
      break;
    case Family::mixtral:  // llama.cpp's llama always renormalises the top-k weights
      c.moe_intermediate_size = c.intermediate_size;
      c.norm_topk_prob = true;
      break;
    case Family::qwen2_moe:  // q/k/v biases, one shared expert behind a sigmoid gate
      c.moe_intermediate_size = m.required_count("expert_feed_forward_length", 1, 1 << 20);
      c.shared_expert_intermediate_size =
          m.required_count("expert_shared_feed_forward_length", 1, 1 << 20);
      c.n_shared_experts = 1;
      c.shared_expert_gated = true;
      c.qkv_bias = true;
      break;
    case Family::olmoe:  // RMSNorm over the q and k projections, q/k/v clamped
      c.moe_intermediate_size = c.intermediate_size;
      c.qk_norm = true;
      if (const auto clamp = m.number("attention.clamp_kqv")) {
        if (!(*clamp > 0 && *clamp < 1e30))
          m.fail(m.key("attention.clamp_kqv"), "must be positive");
        c.clip_qkv = float(*clamp);
      }
      break;
    default:
      break;
  }
}

// The binder's tensors, found in the file under llama.cpp's names: routed experts as
// row slices of the stacked [experts, rows, cols] tensors, attn_q and attn_k with the
// converter's RoPE permutation undone (copied; everything else stays in the map).
class GgufTensors final : public TensorMaker {
 public:
  GgufTensors(std::unique_ptr<GgufFile> file, const ModelConfig& c, bool rope_permuted)
      : file_(std::move(file)), config_(c), rope_permuted_(rope_permuted) {}

  TensorView make(const std::string& hf_name, const std::vector<std::int64_t>& shape) override {
    const std::optional<GgufName> g = gguf_name_of(hf_name);
    if (!g) fail("has no tensor for '" + hf_name + "'");
    const auto it = file_->tensors().find(g->name);
    if (it == file_->tensors().end())
      fail("tensor '" + g->name + "' is missing (expected shape " + shape_string(shape) + ")");
    const TensorView& t = it->second;
    if (g->expert >= 0) return expert_slice(t, g->expert);
    if (rope_permuted_ && g->rope_permuted && t.shape == shape) return unpermuted(t, hf_name);
    // llama.cpp stores a [1, n] tensor (Qwen2-MoE's shared expert gate) also as [n].
    if (shape.size() == 2 && shape[0] == 1 && t.shape == std::vector<std::int64_t>{shape[1]}) {
      TensorView row = t;
      row.shape = shape;
      return row;
    }
    return t;
  }

  std::size_t bytes() const override { return file_->mapped_bytes() + copied_; }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw EngineError(file_->path().string() + ": " + problem);
  }

  TensorView expert_slice(const TensorView& t, int e) const {
    if (t.shape.size() != 3 || t.shape[0] != config_.n_routed_experts)
      fail("tensor '" + t.name + "' has shape " + shape_string(t.shape) + ", expected [" +
           std::to_string(config_.n_routed_experts) + ", rows, cols]");
    return rows_of(t, e * t.shape[1], t.shape[1]);
  }

  // llama.cpp's converter stores q and k rows of each head interleaved (GPT-J RoPE
  // layout): HF row j * D/2 + i of a head of size D is GGUF row 2i + j. Rows are moved
  // whole, so the values (and quantized blocks) are unchanged.
  TensorView unpermuted(const TensorView& t, const std::string& hf_name) {
    const bool is_k = hf_name.find("k_proj") != std::string::npos;
    const int heads = is_k ? config_.num_key_value_heads : config_.num_attention_heads;
    const std::int64_t d = config_.head_dim, row = storage_bytes(t.dtype, t.cols());
    auto& copy = copies_.emplace_back(std::size_t(t.rows() * row));
    const auto* src = static_cast<const std::uint8_t*>(t.data);
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t j = 0; j < 2; ++j)
        for (std::int64_t i = 0; i < d / 2; ++i)
          std::memcpy(copy.data() + (h * d + j * d / 2 + i) * row, src + (h * d + 2 * i + j) * row,
                      std::size_t(row));
    copied_ += copy.size();
    TensorView out = t;
    out.data = copy.data();
    return out;
  }

  std::unique_ptr<GgufFile> file_;
  ModelConfig config_;
  bool rope_permuted_;
  std::vector<std::vector<std::uint8_t>> copies_;
  std::size_t copied_ = 0;
};

// The scalar metadata as a JSON object: what stands in for config.json (snapshots).
std::string metadata_json(const GgufFile& file) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& entry : file.metadata()) {  // no structured binding: clang 14 cannot capture one
    const std::string& key = entry.first;
    if (entry.second.type != GgufType::array)
      std::visit([&](const auto& v) { j[key] = v; }, entry.second.scalar);
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::unique_ptr<Model> load_gguf_model(const std::filesystem::path& file,
                                       const LoadProgress& progress) {
  auto gguf = std::make_unique<GgufFile>(file);
  const Metadata general(*gguf, "general");
  const auto arch = general.text("general.architecture");
  if (!arch) general.fail("general.architecture", "is missing");
  const GgufArchitecture* known = gguf_architecture_named(*arch);
  if (!known)
    general.fail("general.architecture",
                 "\"" + *arch +
                     "\" is not supported (supported: \"deepseek\", \"llama\" with experts, "
                     "\"qwen2moe\", \"olmoe\")");
  const Metadata m(*gguf, *arch);
  ModelConfig config = common_config(m, *gguf, *known);
  read_experts(m, config);
  std::string json = metadata_json(*gguf);
  const std::string name = file.filename().string();
  auto folder = std::filesystem::absolute(file).parent_path();
  return Model::build(name, config, std::move(json),
                      std::make_unique<GgufTensors>(std::move(gguf), config, known->rope_permuted),
                      folder, progress);
}

}  // namespace moescope
