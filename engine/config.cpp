#include "config.h"

#include <algorithm>
#include <climits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "error.h"

namespace moescope {
using nlohmann::json;

namespace {

// Typed access to the fields of one JSON object; absent and null both read as nullopt.
class Fields {
 public:
  Fields(const json& object, std::string source) : object_(object), source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw EngineError(source_ + ": \"" + key + "\" " + problem);
  }

  const json* find(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  template <class T>
  std::optional<T> get(const char* key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if constexpr (std::is_same_v<T, int>) return to_int(key, *v);
    if constexpr (std::is_same_v<T, bool>) expect(key, *v, v->is_boolean(), "a boolean");
    if constexpr (std::is_same_v<T, double>) expect(key, *v, v->is_number(), "a number");
    if constexpr (std::is_same_v<T, std::string>) expect(key, *v, v->is_string(), "a string");
    return v->get<T>();
  }

  // An integer >= `min`; `fallback` when absent (required when there is none).
  int int_at_least(const char* key, int min, std::optional<int> fallback = std::nullopt) const {
    const auto v = get<int>(key);
    if (!v && !fallback) fail(key, "missing (an integer >= " + std::to_string(min) + ")");
    if (v && *v < min)
      fail(key, "must be >= " + std::to_string(min) + ", got " + std::to_string(*v));
    return v.value_or(*fallback);
  }

  double positive_number(const char* key, std::optional<double> fallback = std::nullopt) const {
    const auto v = get<double>(key);
    if (!v && !fallback) fail(key, "missing (a positive number)");
    if (v && !(*v > 0)) fail(key, "must be positive, got " + find(key)->dump());
    return v.value_or(*fallback);
  }

  // The one supported spelling of a string field; `fallback` when absent.
  std::string only(const char* key, const std::string& supported,
                   std::optional<std::string> fallback = std::nullopt) const {
    const auto v = get<std::string>(key);
    if (!v && !fallback) fail(key, "missing (only \"" + supported + "\" is supported)");
    const std::string value = v.value_or(*fallback);
    if (value != supported)
      fail(key, "\"" + value + "\" is not supported (only \"" + supported + "\")");
    return value;
  }

  // A token id: an integer, or a list whose first entry is used (eos lists in newer configs).
  std::optional<int> token_id(const char* key) const {
    const json* v = find(key);
    if (v && v->is_array()) return v->empty() ? std::nullopt : std::optional(to_int(key, v->at(0)));
    return get<int>(key);
  }

 private:
  void expect(const char* key, const json& v, bool ok, const char* type) const {
    if (!ok) fail(key, std::string("must be ") + type + " (got " + v.type_name() + ")");
  }

  int to_int(const char* key, const json& v) const {
    expect(key, v, v.is_number_integer(), "an integer");
    const bool fits = v.is_number_unsigned()
                          ? v.get<std::uint64_t>() <= INT_MAX
                          : v.get<std::int64_t>() >= INT_MIN && v.get<std::int64_t>() <= INT_MAX;
    if (!fits) fail(key, "out of range: " + v.dump());
    return v.get<int>();
  }

  const json& object_;
  std::string source_;
};

void read_rope_scaling(const Fields& f, const std::string& source, ModelConfig& c) {
  const json* scaling = f.find("rope_scaling");
  if (!scaling) return;
  if (!scaling->is_object()) f.fail("rope_scaling", "must be null or an object");
  const Fields rs(*scaling, source + ": rope_scaling");
  const bool new_spelling = !rs.find("type") && rs.find("rope_type");  // transformers >= 4.45
  rs.only(new_spelling ? "rope_type" : "type", "linear");
  c.rope_linear_factor = float(rs.positive_number("factor"));
}

void read_moe(const Fields& f, ModelConfig& c) {
  c.n_routed_experts = f.int_at_least("n_routed_experts", 0, 0);  // 0 or null: dense model
  c.scoring_func = f.only("scoring_func", "softmax", "softmax");
  c.norm_topk_prob = f.get<bool>("norm_topk_prob").value_or(false);
  if (c.n_routed_experts == 0) return;
  c.num_experts_per_tok = f.int_at_least("num_experts_per_tok", 1);
  if (c.num_experts_per_tok > c.n_routed_experts)
    f.fail("num_experts_per_tok", std::to_string(c.num_experts_per_tok) +
                                      " exceeds n_routed_experts " +
                                      std::to_string(c.n_routed_experts));
  c.moe_intermediate_size = f.int_at_least("moe_intermediate_size", 1);
  c.n_shared_experts = f.int_at_least("n_shared_experts", 0, 0);
  c.first_k_dense_replace = f.int_at_least("first_k_dense_replace", 0, 0);
  c.moe_layer_freq = f.int_at_least("moe_layer_freq", 1, 1);
}

}  // namespace

int ModelConfig::num_moe_layers() const {
  int n = 0;
  for (int layer = 0; layer < num_hidden_layers; ++layer) n += is_moe_layer(layer);
  return n;
}

// Fields that only matter for training or for Python loading are accepted and ignored:
// aux_loss_alpha, seq_aux, initializer_range, attention_dropout, use_cache, auto_map,
// transformers_version, _name_or_path, pad_token_id, and pretraining_tp (a slicing of
// the same matmuls, so the same result). Unknown fields are ignored too.
ModelConfig parse_model_config(const std::string& json_text, const std::string& source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw EngineError(source + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw EngineError(source + ": not a JSON object");
  const Fields f(j, source);
  ModelConfig c;

  c.model_type = f.only("model_type", "deepseek");
  if (const json* arch = f.find("architectures")) {
    const auto is_string = [](const json& v) { return v.is_string(); };
    if (!arch->is_array() || !std::all_of(arch->begin(), arch->end(), is_string))
      f.fail("architectures", "must be an array of strings");
    if (!arch->empty()) c.architecture = arch->at(0).get<std::string>();
  }
  c.torch_dtype = f.get<std::string>("torch_dtype").value_or("");

  c.vocab_size = f.int_at_least("vocab_size", 1);
  c.hidden_size = f.int_at_least("hidden_size", 1);
  c.intermediate_size = f.int_at_least("intermediate_size", 1);
  c.num_hidden_layers = f.int_at_least("num_hidden_layers", 1);
  c.num_attention_heads = f.int_at_least("num_attention_heads", 1);
  if (c.hidden_size % c.num_attention_heads != 0)
    f.fail("hidden_size", std::to_string(c.hidden_size) + " is not divisible by " +
                              "num_attention_heads " + std::to_string(c.num_attention_heads));
  c.head_dim = c.hidden_size / c.num_attention_heads;
  c.num_key_value_heads = f.int_at_least("num_key_value_heads", 1, c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    f.fail("num_key_value_heads", std::to_string(c.num_key_value_heads) +
                                      " does not divide num_attention_heads " +
                                      std::to_string(c.num_attention_heads));
  c.max_position_embeddings = f.int_at_least("max_position_embeddings", 1, 2048);  // HF default

  f.only("hidden_act", "silu", "silu");
  if (f.get<bool>("attention_bias").value_or(false))
    f.fail("attention_bias", "true is not supported (attention without biases only)");
  c.rms_norm_eps = float(f.positive_number("rms_norm_eps", 1e-6));
  c.rope_theta = float(f.positive_number("rope_theta", 10000.0));
  read_rope_scaling(f, source, c);
  c.tie_word_embeddings = f.get<bool>("tie_word_embeddings").value_or(false);
  c.bos_token_id = f.token_id("bos_token_id");
  c.eos_token_id = f.token_id("eos_token_id");
  read_moe(f, c);
  return c;
}

ModelConfig load_model_config(const std::filesystem::path& model_dir) {
  const std::filesystem::path path = model_dir / "config.json";
  std::ifstream in(path);
  if (!in) throw EngineError(path.string() + ": not found");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_model_config(text.str(), path.string());
}

}  // namespace moescope
