#include "model/config.h"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "core/error.h"
#include "core/json.h"
#include "core/path_status.h"
#include "core/text_file.h"
#include "model/config_keys.h"

namespace moescope {
using nlohmann::json;

namespace {

// Bounds on every count a config names, far above the largest published models (vocab
// 256 K, hidden 16 K, 126 layers, 384 experts, MLA latents of 1536) and low enough that parameter
// counts, tensor shapes and widths such as moe_intermediate_size x n_shared_experts cannot
// overflow; a value near 2^31 is a broken or hostile file, not a model.
int largest_count(std::string_view key) {
  struct Bound {
    std::string_view key;
    int max;
  };
  constexpr Bound bounds[] = {
      {"vocab_size", 1 << 22},          {"hidden_size", 1 << 16},
      {"num_hidden_layers", 1 << 10},   {"num_attention_heads", 1 << 12},
      {"num_key_value_heads", 1 << 12}, {"max_position_embeddings", 1 << 28},
      {"n_routed_experts", 1 << 13},    {"num_local_experts", 1 << 13},
      {"num_experts", 1 << 13},         {"num_experts_per_tok", 1 << 13},
      {"n_shared_experts", 1 << 8},     {"head_dim", 1 << 12},
      {"kv_lora_rank", 1 << 16},        {"q_lora_rank", 1 << 16},
      {"qk_nope_head_dim", 1 << 12},    {"qk_rope_head_dim", 1 << 12},
      {"v_head_dim", 1 << 12},
  };
  for (const Bound& b : bounds)
    if (b.key == key) return b.max;
  return 1 << 20;  // widths (intermediate sizes) and layer strides
}

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

  // An integer in [min, largest_count(key)]; `fallback` when absent (required when there is none).
  int int_at_least(const char* key, int min, std::optional<int> fallback = std::nullopt) const {
    const auto v = get<int>(key);
    if (!v && !fallback) fail(key, "missing (an integer >= " + std::to_string(min) + ")");
    if (v && *v < min)
      fail(key, "must be >= " + std::to_string(min) + ", got " + std::to_string(*v));
    if (v && *v > largest_count(key))
      fail(key, std::to_string(*v) + " is more than any model has (at most " +
                    std::to_string(largest_count(key)) + " here)");
    return v.value_or(*fallback);
  }

  // Every such value is kept as a float: one beyond FLT_MAX (casting it is undefined
  // behaviour) or so small that it rounds to 0 is refused.
  double positive_number(const char* key, std::optional<double> fallback = std::nullopt) const {
    const auto v = get<double>(key);
    if (!v && !fallback) fail(key, "missing (a positive number)");
    if (v && !(*v > 0)) fail(key, "must be positive, got " + find(key)->dump());
    if (v && !(*v <= FLT_MAX && static_cast<float>(*v) > 0))
      fail(key, find(key)->dump() + " is outside the range of a 32-bit float");
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
    const std::vector<int> ids = token_ids(key);
    return ids.empty() ? std::nullopt : std::optional(ids.front());
  }

  // Every id of an integer-or-list field, in order.
  std::vector<int> token_ids(const char* key) const {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_array()) return {to_int(key, *v)};
    std::vector<int> ids;
    for (const json& id : *v) ids.push_back(to_int(key, id));
    return ids;
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

// One spelling of the rotary settings: a rope type, maybe a base, maybe a linear factor.
struct RopeSpelling {
  std::string where;  // "rope_scaling", "rope_parameters" or "config" (top-level rope_theta)
  std::optional<std::string> type;
  std::optional<double> theta;
  std::optional<double> factor;
  std::optional<YarnRope> yarn;
};

// YaRN's fields (HF's _compute_yarn_parameters); a factor is required, the rest default as there.
YarnRope read_yarn(const Fields& rope) {
  YarnRope y;
  y.factor = rope.positive_number("factor");
  y.original_max_position_embeddings = rope.int_at_least("original_max_position_embeddings", 1);
  y.beta_fast = rope.positive_number("beta_fast", 32.0);
  y.beta_slow = rope.positive_number("beta_slow", 1.0);
  for (const auto& [key, member] : {std::pair{"mscale", &YarnRope::mscale},
                                    std::pair{"mscale_all_dim", &YarnRope::mscale_all_dim},
                                    std::pair{"attention_factor", &YarnRope::attention_factor}})
    if (rope.find(key)) y.*member = rope.positive_number(key);
  y.truncate = rope.get<bool>("truncate").value_or(true);
  return y;
}

bool is_yarn_key(std::string_view name) {
  for (const char* key : {"factor", "original_max_position_embeddings", "beta_fast", "beta_slow",
                          "mscale", "mscale_all_dim", "attention_factor", "truncate"})
    if (name == key) return true;
  return false;
}

// rope_scaling (transformers < 5: {"type" or "rope_type", "factor"}) or rope_parameters
// (transformers 5: {"rope_type", "rope_theta", "factor", ...}). A key this engine does not
// implement shapes the rotation, so it is refused rather than ignored.
std::optional<RopeSpelling> read_rope_object(const Fields& f, const char* key,
                                             const std::string& source, bool yarn_allowed) {
  const json* object = f.find(key);
  if (!object) return std::nullopt;
  if (!object->is_object()) f.fail(key, "must be null or an object");
  const Fields rope(*object, source + ": " + key);
  RopeSpelling out{key, {}, {}, {}, {}};
  const auto type = rope.get<std::string>("type");
  const auto rope_type = rope.get<std::string>("rope_type");
  if (type && rope_type && *type != *rope_type)
    rope.fail("type", "\"" + *type + "\" differs from \"rope_type\" \"" + *rope_type + "\"");
  out.type = rope_type ? rope_type : type;
  if (!out.type) rope.fail("rope_type", "missing (\"default\" or \"linear\")");
  const bool yarn = yarn_allowed && *out.type == "yarn";
  if (*out.type != "default" && *out.type != "linear" && !yarn)
    rope.fail(rope_type ? "rope_type" : "type",
              "\"" + *out.type + "\" is not supported " +
                  (yarn_allowed
                       ? "(only \"default\", \"linear\" and \"yarn\")"
                       : "(only \"default\" and \"linear\"); \"yarn\" only with deepseek_v2/v3"));
  if (rope.find("rope_theta")) out.theta = rope.positive_number("rope_theta");
  if (*out.type == "linear") out.factor = rope.positive_number("factor");
  if (yarn) out.yarn = read_yarn(rope);
  for (const auto& [name, value] : object->items()) {
    const bool known = name == "type" || name == "rope_type" || name == "rope_theta" ||
                       (name == "factor" && *out.type == "linear") || (yarn && is_yarn_key(name));
    if (!known && !value.is_null())
      rope.fail(name, "is not supported with rope type \"" + *out.type +
                          "\" (it would change the rotation)");
  }
  return out;
}

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Both spellings of the rotary settings, checked against each other: a value two of them
// name must agree, and nothing falls back to a default while another spelling says otherwise.
void read_rope(const Fields& f, const std::string& source, double default_theta, ModelConfig& c) {
  const bool yarn_allowed = c.family == Family::deepseek_v2 || c.family == Family::deepseek_v3;
  std::vector<RopeSpelling> spellings;
  if (f.find("rope_theta"))
    spellings.push_back({"rope_theta", {}, f.positive_number("rope_theta"), {}, {}});
  for (const char* key : {"rope_scaling", "rope_parameters"})
    if (auto s = read_rope_object(f, key, source, yarn_allowed)) spellings.push_back(*s);
  const auto agreed = [&](auto member, const char* what) {
    const RopeSpelling* first = nullptr;
    for (const RopeSpelling& s : spellings) {
      if (!(s.*member)) continue;
      if (first && *(first->*member) != *(s.*member)) {
        const auto text = [](const auto& v) {
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>)
            return "\"" + v + "\"";
          else
            return number_text(v);
        };
        throw EngineError(source + ": " + what + " " + text(*(first->*member)) + " (" +
                          first->where + ") differs from " + text(*(s.*member)) + " (" + s.where +
                          ")");
      }
      if (!first) first = &s;
    }
    return first ? std::optional(*(first->*member)) : std::nullopt;
  };
  c.rope_theta = float(agreed(&RopeSpelling::theta, "rope_theta").value_or(default_theta));
  const std::string type = agreed(&RopeSpelling::type, "rope type").value_or("default");
  c.rope_linear_factor = type == "linear" ? float(*agreed(&RopeSpelling::factor, "factor")) : 1.0f;
  for (const RopeSpelling& s : spellings) {
    if (c.rope_yarn && s.yarn && !(*c.rope_yarn == *s.yarn))
      throw EngineError(source + ": the yarn settings of " + s.where + " differ from the other's");
    if (s.yarn) c.rope_yarn = s.yarn;
  }
}

// Mixture-of-experts fields every family shares under its own name for the expert count.
void read_experts(const Fields& f, ModelConfig& c, const char* count_key) {
  c.n_routed_experts = f.int_at_least(count_key, 1);
  c.num_experts_per_tok = f.int_at_least("num_experts_per_tok", 1);
  if (c.num_experts_per_tok > c.n_routed_experts)
    f.fail("num_experts_per_tok", std::to_string(c.num_experts_per_tok) + " exceeds " + count_key +
                                      " " + std::to_string(c.n_routed_experts));
}

void reject_attention_bias(const Fields& f) {
  if (f.get<bool>("attention_bias").value_or(false))
    f.fail("attention_bias", "true is not supported (attention without biases only)");
}

// DeepSeek's experts, V1 to V3: routed experts of moe_intermediate_size, shared experts as
// one MLP, leading dense layers.
void read_deepseek_experts(const Fields& f, ModelConfig& c) {
  read_experts(f, c, "n_routed_experts");
  c.moe_intermediate_size = f.int_at_least("moe_intermediate_size", 1);
  c.n_shared_experts = f.int_at_least("n_shared_experts", 0, 0);
  c.shared_expert_intermediate_size = c.moe_intermediate_size * c.n_shared_experts;
  c.first_k_dense_replace = f.int_at_least("first_k_dense_replace", 0, 0);
  c.moe_layer_freq = f.int_at_least("moe_layer_freq", 1, 1);
}

// DeepSeekMoE: leading dense layers, optional shared experts, raw top-k weights by default.
void read_deepseek(const Fields& f, ModelConfig& c) {
  c.n_routed_experts = f.int_at_least("n_routed_experts", 0, 0);  // 0 or null: dense model
  c.scoring_func = f.only("scoring_func", "softmax", "softmax");
  c.norm_topk_prob = f.get<bool>("norm_topk_prob").value_or(false);
  c.norm_single_expert = false;  // modeling_deepseek.py: `if top_k > 1 and norm_topk_prob`
  if (c.n_routed_experts > 0) read_deepseek_experts(f, c);
}

// Multi-head latent attention: every head reads one latent and one shared RoPE key per token.
void read_latent_attention(const Fields& f, ModelConfig& c) {
  LatentAttention a;
  a.q_lora_rank = f.int_at_least("q_lora_rank", 1, 0);  // null: q_proj
  a.kv_lora_rank = f.int_at_least("kv_lora_rank", 1);
  a.qk_nope_head_dim = f.int_at_least("qk_nope_head_dim", 1);
  a.qk_rope_head_dim = f.int_at_least("qk_rope_head_dim", 2);
  a.v_head_dim = f.int_at_least("v_head_dim", 1);
  if (a.qk_rope_head_dim % 2 != 0)
    f.fail("qk_rope_head_dim", std::to_string(a.qk_rope_head_dim) + " is odd (RoPE rotates pairs)");
  a.rope_interleave = f.get<bool>("rope_interleave").value_or(true);
  if (c.family == Family::deepseek_v2 && !a.rope_interleave)
    f.fail("rope_interleave", "false is not supported for deepseek_v2 (its RoPE is interleaved)");
  // transformers 5 writes its derived widths: they must agree with the ones read.
  if (const auto head_dim = f.get<int>("head_dim"); head_dim && *head_dim != a.qk_rope_head_dim)
    f.fail("head_dim", std::to_string(*head_dim) + " differs from qk_rope_head_dim " +
                           std::to_string(a.qk_rope_head_dim));
  const int qk_head_dim = a.qk_nope_head_dim + a.qk_rope_head_dim;
  if (const auto qk = f.get<int>("qk_head_dim"); qk && *qk != qk_head_dim)
    f.fail("qk_head_dim", std::to_string(*qk) + " differs from qk_nope_head_dim + " +
                              "qk_rope_head_dim = " + std::to_string(qk_head_dim));
  if (c.num_key_value_heads != c.num_attention_heads)
    f.fail("num_key_value_heads", std::to_string(c.num_key_value_heads) +
                                      " differs from num_attention_heads (MLA has one latent "
                                      "for all heads; only equal counts are supported)");
  if (f.get<bool>("mlp_bias").value_or(false))
    f.fail("mlp_bias", "true is not supported (MLPs without biases only)");
  c.head_dim = qk_head_dim;
  c.mla = a;
}

// Where DeepSeek-V2 and V3 route alike: groups of experts, a scale on the gate weights.
void read_group_routing(const Fields& f, ModelConfig& c) {
  c.n_group = f.int_at_least("n_group", 1, 1);
  c.topk_group = f.int_at_least("topk_group", 1, 1);
  if (c.n_routed_experts % c.n_group != 0)
    f.fail("n_group", std::to_string(c.n_group) + " does not divide n_routed_experts " +
                          std::to_string(c.n_routed_experts));
  if (c.topk_group > c.n_group)
    f.fail("topk_group",
           std::to_string(c.topk_group) + " exceeds n_group " + std::to_string(c.n_group));
  const int reachable = c.topk_group * (c.n_routed_experts / c.n_group);
  if (c.num_experts_per_tok > reachable)
    f.fail("num_experts_per_tok", std::to_string(c.num_experts_per_tok) + " exceeds the " +
                                      std::to_string(reachable) + " experts of topk_group groups");
  c.routed_scaling_factor = float(f.positive_number("routed_scaling_factor", 1.0));
}

// DeepSeek-V2 / V2-Lite: softmax scores, greedy or group-limited top-k, scaled weights.
void read_deepseek_v2(const Fields& f, ModelConfig& c) {
  read_deepseek(f, c);
  read_latent_attention(f, c);
  if (c.n_routed_experts == 0) f.fail("n_routed_experts", "missing (deepseek_v2 is MoE)");
  // transformers' DeepseekV2 never renormalises; DeepSeek's own code would, without the scale.
  if (c.norm_topk_prob)
    f.fail("norm_topk_prob",
           "true is not supported for deepseek_v2 (transformers ignores it "
           "and DeepSeek's code drops routed_scaling_factor then)");
  const std::string method = f.get<std::string>("topk_method").value_or("greedy");
  if (method == "greedy")
    c.topk_method = TopkMethod::greedy;
  else if (method == "group_limited_greedy")
    c.topk_method = TopkMethod::group_limited_greedy;
  else
    f.fail("topk_method", "\"" + method +
                              "\" is not supported for deepseek_v2 (only \"greedy\" "
                              "and \"group_limited_greedy\")");
  read_group_routing(f, c);
  if (c.topk_method == TopkMethod::greedy) c.n_group = c.topk_group = 1;  // groups unused
}

// DeepSeek-V3 (Moonlight, Kimi-K2): sigmoid scores, e_score_correction_bias for selection
// only, groups by their two best biased scores, weights from the unbiased scores.
void read_deepseek_v3(const Fields& f, ModelConfig& c) {
  read_deepseek_experts(f, c);
  c.scoring_func = f.only("scoring_func", "sigmoid", "sigmoid");
  f.only("topk_method", "noaux_tc", "noaux_tc");
  c.topk_method = TopkMethod::noaux_tc;
  c.score_correction_bias = true;
  c.norm_topk_prob = f.get<bool>("norm_topk_prob").value_or(true);
  c.norm_single_expert = true;  // DeepseekV3TopkRouter divides at every k
  read_latent_attention(f, c);
  read_group_routing(f, c);
  if (c.n_routed_experts / c.n_group < 2)
    f.fail("n_group", "leaves groups of one expert (a group is ranked by its two best)");
}

// FP8 checkpoints keep e4m3 weights with a weight_scale_inv per 128 x 128 block.
void refuse_fp8(const Fields& f) {
  const json* q = f.find("quantization_config");
  if (!q || !q->is_object()) return;
  const auto method = q->find("quant_method");
  if (method != q->end() && *method == "fp8")
    f.fail("quantization_config",
           "FP8 weights with block scales (quant_method \"fp8\") are not supported: convert the "
           "checkpoint to bf16 first (DeepSeek's fp8_cast_bf16.py) or use a bf16 release");
}

// Mixtral: every layer MoE, experts as wide as intermediate_size, top-k always renormalised.
void read_mixtral(const Fields& f, ModelConfig& c) {
  read_experts(f, c, "num_local_experts");
  c.moe_intermediate_size = c.intermediate_size;
  c.norm_topk_prob = true;  // MixtralSparseMoeBlock divides by the sum unconditionally
}

// Qwen2-MoE and Qwen3-MoE: which layers are MoE, and that every attention is full.
void read_sparse_layers(const Fields& f, ModelConfig& c) {
  c.decoder_sparse_step = f.int_at_least("decoder_sparse_step", 1, 1);
  if (const json* layers = f.find("mlp_only_layers")) {
    if (!layers->is_array()) f.fail("mlp_only_layers", "must be an array of layer indices");
    for (const json& layer : *layers) {
      if (!layer.is_number_integer() || layer.get<std::int64_t>() < 0 ||
          layer.get<std::int64_t>() >= c.num_hidden_layers)
        f.fail("mlp_only_layers", "entry " + layer.dump() + " is not a layer index in [0, " +
                                      std::to_string(c.num_hidden_layers) + ")");
      c.mlp_only_layers.push_back(layer.get<int>());
    }
  }
  // transformers 5 lists each layer's attention; a sliding one is not implemented.
  if (const json* types = f.find("layer_types")) {
    if (!types->is_array()) f.fail("layer_types", "must be an array of strings");
    for (const json& type : *types)
      if (type != "full_attention")
        f.fail("layer_types",
               "entry " + type.dump() + " is not supported (only \"full_attention\")");
  }
}

// Qwen2-MoE: MoE layers by decoder_sparse_step and mlp_only_layers, biased q/k/v, and one
// shared expert scaled by a sigmoid gate.
void read_qwen2_moe(const Fields& f, ModelConfig& c) {
  read_experts(f, c, "num_experts");
  c.moe_intermediate_size = f.int_at_least("moe_intermediate_size", 1);
  c.n_shared_experts = 1;
  c.shared_expert_intermediate_size = f.int_at_least("shared_expert_intermediate_size", 1);
  c.shared_expert_gated = true;
  c.norm_topk_prob = f.get<bool>("norm_topk_prob").value_or(false);
  c.qkv_bias = f.get<bool>("qkv_bias").value_or(true);  // transformers 5 spells it out
  read_sparse_layers(f, c);
}

// Qwen3-MoE: Qwen2-MoE's layer choice without its shared expert or q/k/v biases, and an
// RMSNorm on every q and k head (its head_dim is read with the attention shape).
void read_qwen3_moe(const Fields& f, ModelConfig& c) {
  // transformers 5 writes the expert count as num_local_experts, the hub's configs num_experts.
  const auto local = f.get<int>("num_local_experts");
  if (local && f.find("num_experts") && f.get<int>("num_experts") != local)
    f.fail("num_local_experts", "differs from \"num_experts\"");
  read_experts(f, c, local ? "num_local_experts" : "num_experts");
  c.moe_intermediate_size = f.int_at_least("moe_intermediate_size", 1);
  c.norm_topk_prob = f.get<bool>("norm_topk_prob").value_or(false);
  c.qk_norm_per_head = true;
  read_sparse_layers(f, c);
}

// OLMoE: every layer MoE, RMSNorm on the q and k projections, optional clipping of q/k/v.
void read_olmoe(const Fields& f, ModelConfig& c) {
  read_experts(f, c, "num_experts");
  c.moe_intermediate_size = c.intermediate_size;
  c.norm_topk_prob = f.get<bool>("norm_topk_prob").value_or(false);
  c.qk_norm = true;
  if (f.find("clip_qkv")) c.clip_qkv = float(f.positive_number("clip_qkv"));
}

// A sliding window no position can reach changes nothing; a shorter one is not implemented.
// Qwen2-MoE's and Qwen3-MoE's window only applies with use_sliding_window (false on the hub).
void check_sliding_window(const Fields& f, const ModelConfig& c) {
  const bool switched = c.family == Family::qwen2_moe || c.family == Family::qwen3_moe;
  if (switched && !f.get<bool>("use_sliding_window").value_or(false)) return;
  const auto window = f.get<int>("sliding_window");
  if (window && *window < c.max_position_embeddings)
    f.fail("sliding_window", std::to_string(*window) + " is shorter than max_position_embeddings " +
                                 std::to_string(c.max_position_embeddings) +
                                 "; sliding-window attention is not supported");
}

// Every key against the family's table (model/config_keys.h): a refused key with a value is
// refused; an unknown one is refused when its name says it shapes the forward pass, and
// otherwise loaded and reported as not understood.
void check_every_key(const json& j, const Fields& f, ModelConfig& c) {
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;
    if (const ConfigKey* known = find_config_key(c.family, key)) {
      if (known->handling == KeyHandling::refused)
        f.fail(key, std::string("is not supported: ") + known->note);
    } else if (name_shapes_forward_pass(key)) {
      f.fail(key,
             "is not understood, and its name says it shapes the forward pass: refused "
             "rather than ignored (docs/FAMILIES.md lists the keys of each family)");
    } else {
      c.unrecognised_keys.push_back(key);
    }
  }
}

struct FamilyInfo {
  const char* model_type;
  Family family;
  double rms_norm_eps, rope_theta;  // the defaults of the family's HF config class
};
constexpr FamilyInfo families[] = {
    {"deepseek", Family::deepseek, 1e-6, 10000.0},
    {"mixtral", Family::mixtral, 1e-5, 1e6},
    {"qwen2_moe", Family::qwen2_moe, 1e-6, 10000.0},
    {"olmoe", Family::olmoe, 1e-5, 10000.0},
    {"qwen3_moe", Family::qwen3_moe, 1e-6, 10000.0},
    {"deepseek_v2", Family::deepseek_v2, 1e-6, 10000.0},
    {"deepseek_v3", Family::deepseek_v3, 1e-6, 10000.0},
};

const FamilyInfo& read_family(const Fields& f) {
  const auto type = f.get<std::string>("model_type");
  std::string supported;
  for (const FamilyInfo& info : families) {
    if (type == info.model_type) return info;
    supported += std::string(supported.empty() ? "" : ", ") + "\"" + info.model_type + "\"";
  }
  if (!type) f.fail("model_type", "missing (supported: " + supported + ")");
  f.fail("model_type", "\"" + *type + "\" is not supported (supported: " + supported + ")");
}

}  // namespace

bool ModelConfig::is_moe_layer(int layer) const {
  return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0 &&
         (layer + 1) % decoder_sparse_step == 0 &&
         std::find(mlp_only_layers.begin(), mlp_only_layers.end(), layer) == mlp_only_layers.end();
}

std::vector<int> ModelConfig::moe_layers() const {
  std::vector<int> layers;
  for (int layer = 0; layer < num_hidden_layers; ++layer)
    if (is_moe_layer(layer)) layers.push_back(layer);
  return layers;
}

// What each key does (honoured, ignored and why, refused) is the table of model/config_keys.h.
ModelConfig parse_model_config(const std::string& json_text, const std::string& source) {
  const json j = parse_json(json_text, source);
  if (!j.is_object()) throw EngineError(source + ": not a JSON object");
  const Fields f(j, source);
  ModelConfig c;

  const FamilyInfo& family = read_family(f);
  c.model_type = family.model_type;
  c.family = family.family;
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
  // Qwen3-MoE's q/k/v are heads x head_dim wide, whatever hidden_size is; MLA's widths
  // are their own fields (read with the family).
  const bool latent = c.family == Family::deepseek_v2 || c.family == Family::deepseek_v3;
  const bool own_head_dim = c.family == Family::qwen3_moe && f.find("head_dim");
  if (!own_head_dim && c.hidden_size % c.num_attention_heads != 0)
    f.fail("hidden_size", std::to_string(c.hidden_size) + " is not divisible by " +
                              "num_attention_heads " + std::to_string(c.num_attention_heads));
  c.head_dim = own_head_dim ? f.int_at_least("head_dim", 1) : c.hidden_size / c.num_attention_heads;
  if (const auto head_dim = f.get<int>("head_dim"); !latent && head_dim && *head_dim != c.head_dim)
    f.fail("head_dim", std::to_string(*head_dim) + " differs from hidden_size / " +
                           "num_attention_heads = " + std::to_string(c.head_dim) +
                           " (not supported)");
  c.num_key_value_heads = f.int_at_least("num_key_value_heads", 1, c.num_attention_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    f.fail("num_key_value_heads", std::to_string(c.num_key_value_heads) +
                                      " does not divide num_attention_heads " +
                                      std::to_string(c.num_attention_heads));
  c.max_position_embeddings = f.int_at_least("max_position_embeddings", 1, 2048);  // HF default

  f.only("hidden_act", "silu", "silu");
  c.rms_norm_eps = float(f.positive_number("rms_norm_eps", family.rms_norm_eps));
  read_rope(f, source, family.rope_theta, c);
  c.tie_word_embeddings = f.get<bool>("tie_word_embeddings").value_or(false);
  c.bos_token_id = f.token_id("bos_token_id");
  c.eos_token_id = f.token_id("eos_token_id");
  c.stop_token_ids = f.token_ids("eos_token_id");
  switch (c.family) {
    case Family::deepseek:
      read_deepseek(f, c);
      break;
    case Family::mixtral:
      read_mixtral(f, c);
      break;
    case Family::qwen2_moe:
      read_qwen2_moe(f, c);
      break;
    case Family::olmoe:
      read_olmoe(f, c);
      break;
    case Family::qwen3_moe:
      read_qwen3_moe(f, c);
      break;
    case Family::deepseek_v2:
      read_deepseek_v2(f, c);
      break;
    case Family::deepseek_v3:
      read_deepseek_v3(f, c);
      break;
  }
  refuse_fp8(f);
  reject_attention_bias(f);
  check_sliding_window(f, c);
  check_every_key(j, f, c);
  return c;
}

ModelConfig load_model_config(const std::filesystem::path& model_dir) {
  const std::filesystem::path path = model_dir / "config.json";
  ModelConfig config = parse_model_config(read_text_file(path), path.string());
  read_generation_config(model_dir, config);
  return config;
}

void read_generation_config(const std::filesystem::path& model_dir, ModelConfig& config) {
  const std::filesystem::path generation = model_dir / "generation_config.json";
  if (!path_exists(generation)) return;
  const json j = read_json_file(generation);
  if (!j.is_object()) throw EngineError(generation.string() + ": not a JSON object");
  for (int id : Fields(j, generation.string()).token_ids("eos_token_id"))
    if (std::find(config.stop_token_ids.begin(), config.stop_token_ids.end(), id) ==
        config.stop_token_ids.end())
      config.stop_token_ids.push_back(id);
}

}  // namespace moescope
