#include "io/snapshot.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/json.h"
#include "io/atomic_file.h"
#include "model/config.h"

namespace moescope {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- writing

// The shortest decimal that reads back as the same float ("0.1", not
// "0.10000000149011612"): scores dominate the file size. Readers parse a double
// and round it to float; where that double rounding lands on the neighbouring
// float (one finite float in 2^31, 0x15ae43fd, by an exhaustive check), write
// the exact value instead.
double shortest_double(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  double shortest = 0;
  std::from_chars(text, end, shortest);
  return static_cast<float>(shortest) == value ? shortest : static_cast<double>(value);
}

// JSON has no NaN or infinity (nlohmann would silently write null, which no
// reader accepts), so refuse them while we can still say where.
[[noreturn]] void refuse_non_finite(const std::string& path) {
  throw EngineError(path + ": NaN or infinity cannot be stored in JSON");
}

double json_float(float value, const std::string& path) {
  if (!std::isfinite(value)) refuse_non_finite(path);
  return shortest_double(value);
}

json float_array(const std::vector<float>& values, const std::string& path) {
  json out = json::array();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) refuse_non_finite(path + "[" + std::to_string(i) + "]");
    out.push_back(shortest_double(values[i]));
  }
  return out;
}

json layer_ref_to_json(int layer) {
  return layer == Interventions::all_layers ? json("all") : json(layer);
}

json interventions_to_json(const Interventions& interventions) {
  json experts = json::array();
  for (const auto& [layer, expert] : interventions.disabled_experts)
    experts.push_back({{"layer", layer_ref_to_json(layer)}, {"expert", expert}});
  json shared = json::array();
  for (int layer : interventions.disabled_shared) shared.push_back(layer_ref_to_json(layer));
  json out = {{"disabled_experts", std::move(experts)},
              {"disabled_shared", std::move(shared)},
              {"top_k", interventions.top_k ? json(*interventions.top_k) : json(nullptr)}};
  // Version 2, written only when set.
  if (interventions.select_without_bias) out["select_without_bias"] = true;
  if (interventions.no_group_limit) out["no_group_limit"] = true;
  return out;
}

bool has_version_2_routing(const std::vector<SnapshotToken>& tokens) {
  for (const SnapshotToken& token : tokens)
    for (const LayerRouting& layer : token.routing.layers)
      if (!layer.selection_scores.empty() || !layer.groups.empty()) return true;
  return false;
}

// Whether the snapshot needs version 2: DeepSeek-V3's selection scores, kept groups, or the
// interventions on them. Any other snapshot is written as version 1, which every moescope reads.
bool needs_version_2(const RoutingSnapshot& snapshot) {
  return snapshot.interventions.select_without_bias || snapshot.interventions.no_group_limit ||
         has_version_2_routing(snapshot.tokens) ||
         (snapshot.comparison && has_version_2_routing(snapshot.comparison->baseline_tokens));
}

const char* routing_detail_name(RoutingDetail detail) {
  return detail == RoutingDetail::full ? "full" : "ids_only";
}

json layer_to_json(const LayerRouting& layer, RoutingDetail detail, const std::string& path) {
  if (layer.detail != detail)
    throw EngineError(path + ": a " + routing_detail_name(layer.detail) +
                      " record in a snapshot whose routing is " + routing_detail_name(detail));
  json out = {{"layer", layer.layer},
              {"expert_ids", layer.expert_ids},
              {"shared_active", layer.shared_active},
              {"mask_changed", layer.mask_changed}};
  // ids_only: the server never told the scores and weights, so they are left out, not zeroed.
  if (detail == RoutingDetail::full) {
    out["gate_weights"] = float_array(layer.gate_weights, path + ".gate_weights");
    out["scores"] = float_array(layer.scores, path + ".scores");
    // Version 2: what the top-k ranked when it was not the scores (DeepSeek-V3's bias).
    if (!layer.selection_scores.empty())
      out["selection_scores"] = float_array(layer.selection_scores, path + ".selection_scores");
  }
  if (!layer.groups.empty()) out["groups"] = layer.groups;  // version 2: group routing
  // Optional: only a gated shared expert (Qwen2-MoE) has a weight other than 1.
  if (layer.shared_gate != 1.0f)
    out["shared_gate"] = json_float(layer.shared_gate, path + ".shared_gate");
  return out;
}

json token_to_json(const SnapshotToken& token, RoutingDetail detail, const std::string& path) {
  json layers = json::array();
  for (std::size_t i = 0; i < token.routing.layers.size(); ++i)
    layers.push_back(layer_to_json(token.routing.layers[i], detail,
                                   path + ".layers[" + std::to_string(i) + "]"));
  return {{"position", token.routing.position},
          {"id", token.routing.token_id},
          {"text", token.text},
          {"is_prompt", token.routing.is_prompt},
          {"layers", std::move(layers)}};
}

json tokens_to_json(const std::vector<SnapshotToken>& tokens, RoutingDetail detail,
                    const std::string& path) {
  json out = json::array();
  for (std::size_t i = 0; i < tokens.size(); ++i)
    out.push_back(token_to_json(tokens[i], detail, path + "[" + std::to_string(i) + "]"));
  return out;
}

json comparison_to_json(const SnapshotComparison& comparison, RoutingDetail detail) {
  json kl = json::array();
  for (std::size_t i = 0; i < comparison.next_token_kl.size(); ++i) {
    const double v = comparison.next_token_kl[i];
    if (!std::isfinite(v))
      throw EngineError("comparison.next_token_kl[" + std::to_string(i) +
                        "]: NaN or infinity cannot be written to JSON");
    kl.push_back(v);
  }
  return {{"baseline_tokens",
           tokens_to_json(comparison.baseline_tokens, detail, "comparison.baseline_tokens")},
          {"next_token_kl", std::move(kl)}};
}

// ---------------------------------------------------------------- reading

// Below the point where rounding to float overflows: FLT_MAX plus half an ulp.
bool fits_float(double v) {
  return std::abs(v) < 0x1.ffffffp127;
}

// A JSON value together with its path in the file, so every error names the
// file and the field ("snap.json: tokens[3].layers[0].scores: ...").
class Node {
 public:
  Node(const json& value, const std::string& source, std::string path)
      : value_(value), source_(source), path_(std::move(path)) {}

  const json& value() const { return value_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw EngineError(source_ + ": " + (path_.empty() ? "top level" : path_) + ": " + what);
  }

  // A required member of an object.
  Node operator[](const char* key) const {
    const json& object = expect(value_.is_object(), "an object");
    const std::string path = path_.empty() ? key : path_ + "." + key;
    const auto it = object.find(key);
    if (it == object.end()) Node(value_, source_, path).fail("required field is missing");
    return Node(*it, source_, path);
  }

  bool has(const char* key) const { return expect(value_.is_object(), "an object").contains(key); }

  Node at(std::size_t index) const {
    return Node(value_[index], source_, path_ + "[" + std::to_string(index) + "]");
  }

  std::vector<Node> items() const {
    expect(value_.is_array(), "an array");
    std::vector<Node> out;
    out.reserve(value_.size());
    for (std::size_t i = 0; i < value_.size(); ++i) out.push_back(at(i));
    return out;
  }

  std::string string() const { return expect(value_.is_string(), "a string").get<std::string>(); }
  bool boolean() const { return expect(value_.is_boolean(), "true or false").get<bool>(); }

  double number() const {
    const double v = expect(value_.is_number(), "a number").get<double>();
    if (!std::isfinite(v)) fail("expected a finite number");
    return v;
  }

  int integer() const {
    expect(value_.is_number_integer(), "an integer");
    const bool fits = value_.is_number_unsigned() ? value_.get<std::uint64_t>() <= INT_MAX
                                                  : value_.get<std::int64_t>() >= INT_MIN &&
                                                        value_.get<std::int64_t>() <= INT_MAX;
    if (!fits) fail("integer " + value_.dump() + " out of range");
    return value_.get<int>();
  }

  std::uint64_t unsigned64() const {
    return expect(value_.is_number_unsigned(), "a non-negative integer").get<std::uint64_t>();
  }

  float single() const {
    const double v = number();
    if (!fits_float(v)) fail("number out of the range of a 32-bit float");
    return static_cast<float>(v);
  }

  // Numeric arrays are the bulk of a file: no per-element Node unless one fails.
  std::vector<float> floats() const {
    expect(value_.is_array(), "an array");
    std::vector<float> out;
    out.reserve(value_.size());
    for (std::size_t i = 0; i < value_.size(); ++i) {
      const json& v = value_[i];
      const bool ok = v.is_number() && fits_float(v.get<double>());
      out.push_back(ok ? static_cast<float>(v.get<double>()) : at(i).single());  // single() throws
    }
    return out;
  }

 private:
  const json& expect(bool ok, const char* what) const {
    if (!ok) fail(std::string("expected ") + what + ", got " + value_.type_name());
    return value_;
  }

  const json& value_;
  const std::string& source_;
  std::string path_;
};

int check_header(const Node& root) {
  const Node format = root["format"];
  if (format.string() != snapshot_format_name)
    format.fail("expected \"" + std::string(snapshot_format_name) + "\", got " +
                format.value().dump() + ": not a moescope routing snapshot");
  const Node version = root["version"];
  const int v = version.integer();
  if (v > snapshot_format_version)
    version.fail("version " + std::to_string(v) +
                 " was written by a newer moescope; this moescope reads version " +
                 std::to_string(snapshot_format_version) + ", please update it");
  if (v < 1) version.fail("invalid version " + std::to_string(v));
  return v;
}

// A field version 2 added, in a file that says it is older.
void require_version_2(const Node& node, int version) {
  if (version < 2)
    node.fail("needs format version 2 (this file says version " + std::to_string(version) + ")");
}

// What a layer record is read against.
struct LayerContext {
  const ModelConfig& config;
  RoutingDetail detail;
  int version;
};

// Group routing's kept groups: ascending, each once, holding every chosen expert.
void read_groups(const Node& node, const ModelConfig& config, LayerRouting& out) {
  if (!(config.topk_method != TopkMethod::greedy && config.n_group > 1))
    node.fail("this model does not route by groups of experts");
  for (const Node& item : node.items()) {
    const int group = item.integer();
    if (group < 0 || group >= config.n_group)
      item.fail("group " + std::to_string(group) + " out of range (" +
                std::to_string(config.n_group) + " groups)");
    if (!out.groups.empty() && group <= out.groups.back())
      item.fail("groups must be listed once each, in increasing order");
    out.groups.push_back(group);
  }
  const int size = config.n_routed_experts / config.n_group;
  for (int expert : out.expert_ids)
    if (!std::binary_search(out.groups.begin(), out.groups.end(), expert / size))
      node.fail("expert " + std::to_string(expert) + " is in none of these groups");
}

// YYYY-MM-DDTHH:MM:SS[.fraction]Z, read by position (std::regex recursed per character and
// overflowed the stack on a long fraction).
bool is_iso_utc(std::string_view t) {
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
  if (t.size() < shape.size() + 1 || t.back() != 'Z') return false;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(t[i])) : t[i] != shape[i])
      return false;
  const std::string_view rest = t.substr(shape.size(), t.size() - shape.size() - 1);
  return rest.empty() || (rest.size() > 1 && rest[0] == '.' &&
                          std::all_of(rest.begin() + 1, rest.end(), [](char c) {
                            return std::isdigit(static_cast<unsigned char>(c));
                          }));
}

std::string read_timestamp(const Node& node) {
  std::string text = node.string();
  if (!is_iso_utc(text))
    node.fail("\"" + text + "\" is not an ISO-8601 UTC time like 2024-05-01T12:34:56Z");
  return text;
}

SamplingSettings read_sampling(const Node& node) {
  SamplingSettings s;
  const Node temperature = node["temperature"];
  s.temperature = temperature.single();
  if (s.temperature < 0) temperature.fail("temperature must be >= 0");
  const Node top_p = node["top_p"];
  s.top_p = top_p.single();
  if (!(s.top_p > 0 && s.top_p <= 1)) top_p.fail("top_p must be in (0, 1]");
  s.seed = node["seed"].unsigned64();
  const Node max_tokens = node["max_tokens"];
  s.max_tokens = max_tokens.integer();
  if (s.max_tokens < 0) max_tokens.fail("max_tokens must be >= 0");
  return s;
}

int read_layer_ref(const Node& node) {
  if (node.value() == "all") return Interventions::all_layers;
  if (!node.value().is_number_integer() || node.integer() < 0)
    node.fail("expected a layer index or \"all\", got " + node.value().dump());
  return node.integer();
}

Interventions read_interventions(const Node& node, const ModelConfig& config, int version) {
  Interventions out;
  for (const Node& item : node["disabled_experts"].items())
    out.disabled_experts.insert({read_layer_ref(item["layer"]), item["expert"].integer()});
  for (const Node& item : node["disabled_shared"].items())
    out.disabled_shared.insert(read_layer_ref(item));
  const Node top_k = node["top_k"];
  if (!top_k.value().is_null()) out.top_k = top_k.integer();
  for (const auto& [key, flag] :
       {std::pair{"select_without_bias", &Interventions::select_without_bias},
        std::pair{"no_group_limit", &Interventions::no_group_limit}})
    if (node.has(key)) {
      require_version_2(node[key], version);
      out.*flag = node[key].boolean();
    }
  try {
    out.validate(config);
  } catch (const EngineError& e) {
    node.fail(e.what());
  }
  return out;
}

void check_moe_layer(const Node& node, int layer, const ModelConfig& config) {
  if (layer < 0 || layer >= config.num_hidden_layers)
    node.fail("layer " + std::to_string(layer) + " out of range (" +
              std::to_string(config.num_hidden_layers) + " layers)");
  if (!config.is_moe_layer(layer))
    node.fail("layer " + std::to_string(layer) + " is not an MoE layer of this model");
}

LayerRouting read_layer(const Node& node, const LayerContext& context) {
  const ModelConfig& config = context.config;
  const RoutingDetail detail = context.detail;
  LayerRouting out;
  out.detail = detail;
  const int n_experts = config.n_routed_experts;
  const Node layer = node["layer"];
  out.layer = layer.integer();
  check_moe_layer(layer, out.layer, config);

  std::vector<bool> chosen(n_experts, false);
  for (const Node& item : node["expert_ids"].items()) {
    const int expert = item.integer();
    if (expert < 0 || expert >= n_experts)
      item.fail("expert " + std::to_string(expert) + " out of range (" + std::to_string(n_experts) +
                " routed experts)");
    if (chosen[expert]) item.fail("expert " + std::to_string(expert) + " chosen twice");
    chosen[expert] = true;
    out.expert_ids.push_back(expert);
  }
  if (detail == RoutingDetail::ids_only) {
    for (const char* key : {"gate_weights", "scores", "selection_scores"})
      if (node.has(key))
        node[key].fail("an ids_only snapshot has no scores or weights (routing is \"ids_only\")");
  } else {
    const Node weights = node["gate_weights"];
    out.gate_weights = weights.floats();
    if (out.gate_weights.size() != out.expert_ids.size())
      weights.fail(std::to_string(out.gate_weights.size()) + " weights for " +
                   std::to_string(out.expert_ids.size()) + " expert_ids");
    const Node scores = node["scores"];
    out.scores = scores.floats();
    if (out.scores.size() != static_cast<std::size_t>(n_experts))
      scores.fail(std::to_string(out.scores.size()) + " values, expected " +
                  std::to_string(n_experts) + " (one per routed expert)");
    if (node.has("selection_scores")) {
      const Node selection = node["selection_scores"];
      require_version_2(selection, context.version);
      if (!config.score_correction_bias)
        selection.fail("this model's gate has no bias: its scores are what it selects by");
      out.selection_scores = selection.floats();
      if (out.selection_scores.size() != static_cast<std::size_t>(n_experts))
        selection.fail(std::to_string(out.selection_scores.size()) + " values, expected " +
                       std::to_string(n_experts) + " (one per routed expert)");
    }
  }
  if (node.has("groups")) {
    require_version_2(node["groups"], context.version);
    read_groups(node["groups"], config, out);
  }
  out.shared_active = node["shared_active"].boolean();
  out.mask_changed = node["mask_changed"].boolean();
  if (node.has("shared_gate")) {
    const Node gate = node["shared_gate"];
    out.shared_gate = gate.single();
    if (!(out.shared_gate >= 0.0f && out.shared_gate <= 1.0f))
      gate.fail("a shared expert gate is a sigmoid, in [0, 1]");
    if (!config.shared_expert_gated) gate.fail("this model's shared experts have no gate");
  }
  return out;
}

SnapshotToken read_token(const Node& node, const LayerContext& context) {
  const ModelConfig& config = context.config;
  SnapshotToken out;
  TokenRouting& routing = out.routing;
  routing.position = node["position"].integer();
  const Node id = node["id"];
  routing.token_id = id.integer();
  if (routing.token_id < 0 || routing.token_id >= config.vocab_size)
    id.fail("token id " + std::to_string(routing.token_id) + " out of range (vocabulary of " +
            std::to_string(config.vocab_size) + ")");
  out.text = node["text"].string();
  routing.is_prompt = node["is_prompt"].boolean();
  for (const Node& item : node["layers"].items()) {
    routing.layers.push_back(read_layer(item, context));
    if (routing.layers.size() > 1 &&
        routing.layers.back().layer <= routing.layers.rbegin()[1].layer)
      item["layer"].fail("layers must be listed once each, in increasing order");
  }
  return out;
}

std::vector<SnapshotToken> read_tokens(const Node& node, const LayerContext& context) {
  std::vector<SnapshotToken> out;
  for (const Node& item : node.items()) {
    out.push_back(read_token(item, context));
    const TokenRouting& routing = out.back().routing;
    if (routing.position < 0) item["position"].fail("negative position");
    if (out.size() < 2) continue;
    const TokenRouting& previous = out.rbegin()[1].routing;
    if (routing.position <= previous.position)
      item["position"].fail("position " + std::to_string(routing.position) + " after position " +
                            std::to_string(previous.position) +
                            "; positions must be strictly increasing");
    if (routing.is_prompt && !previous.is_prompt)
      item["is_prompt"].fail("a prompt token after generated tokens");
  }
  return out;
}

// The baseline beside the switched run `tokens`: the same prompt, and at most one KL per
// generated baseline token, each >= 0.
SnapshotComparison read_comparison(const Node& node, const LayerContext& context,
                                   const std::vector<SnapshotToken>& tokens) {
  SnapshotComparison out;
  const Node baseline = node["baseline_tokens"];
  out.baseline_tokens = read_tokens(baseline, context);
  std::size_t prompt = 0, generated = 0;
  for (const SnapshotToken& token : out.baseline_tokens)
    ++(token.routing.is_prompt ? prompt : generated);
  for (std::size_t i = 0; i < prompt; ++i)
    if (i >= tokens.size() || !tokens[i].routing.is_prompt ||
        tokens[i].routing.token_id != out.baseline_tokens[i].routing.token_id)
      baseline.at(i)["id"].fail("the baseline's prompt differs from the switched run's (tokens)");
  if (prompt < tokens.size() && tokens[prompt].routing.is_prompt)
    baseline.fail("the baseline's prompt is shorter than the switched run's (tokens)");
  const Node kl = node["next_token_kl"];
  const std::vector<Node> values = kl.items();
  if (values.size() > generated)
    kl.fail(std::to_string(values.size()) + " values for " + std::to_string(generated) +
            " generated baseline tokens");
  for (const Node& value : values) {
    out.next_token_kl.push_back(value.number());
    if (out.next_token_kl.back() < 0) value.fail("a KL divergence is never negative");
  }
  return out;
}

// Optional: absent means "full" (every file written before remote models).
RoutingDetail read_routing_detail(const Node& root) {
  if (!root.has("routing")) return RoutingDetail::full;
  const Node node = root["routing"];
  const std::string name = node.string();
  if (name == "full") return RoutingDetail::full;
  if (name == "ids_only") return RoutingDetail::ids_only;
  node.fail("expected \"full\" or \"ids_only\", got \"" + name + "\"");
}

}  // namespace

std::string utc_timestamp_now() {
  using namespace std::chrono;
  const auto now = floor<seconds>(system_clock::now());
  const auto today = floor<days>(now);
  const year_month_day date{today};
  const hh_mm_ss time{now - today};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return text;
}

json snapshot_to_json(const RoutingSnapshot& snapshot) {
  json tokens = tokens_to_json(snapshot.tokens, snapshot.routing_detail, "tokens");
  const SamplingSettings& sampling = snapshot.sampling;
  json out = {{"format", snapshot_format_name},
              {"version", needs_version_2(snapshot) ? 2 : 1},
              {"created_at", snapshot.created_at},
              {"model",
               {{"name", snapshot.model_name},
                {"path", snapshot.model_path},
                {"config", snapshot.model_config}}},
              {"backend", snapshot.backend},
              {"prompt", snapshot.prompt},
              {"generated_text", snapshot.generated_text},
              {"sampling",
               {{"temperature", json_float(sampling.temperature, "sampling.temperature")},
                {"top_p", json_float(sampling.top_p, "sampling.top_p")},
                {"seed", sampling.seed},
                {"max_tokens", sampling.max_tokens}}},
              {"interventions", interventions_to_json(snapshot.interventions)},
              {"tokens", std::move(tokens)}};
  if (snapshot.routing_detail != RoutingDetail::full)
    out["routing"] = routing_detail_name(snapshot.routing_detail);
  if (!snapshot.incomplete.empty()) out["incomplete"] = snapshot.incomplete;
  if (snapshot.comparison)
    out["comparison"] = comparison_to_json(*snapshot.comparison, snapshot.routing_detail);
  return out;
}

RoutingSnapshot snapshot_from_json(const json& document, const std::string& source) {
  const Node root(document, source, "");
  const int version = check_header(root);  // first: a newer file may be laid out differently
  RoutingSnapshot out;
  out.created_at = read_timestamp(root["created_at"]);
  const Node model = root["model"];
  out.model_name = model["name"].string();
  out.model_path = model["path"].string();
  const Node config_node = model["config"];
  if (!config_node.value().is_object()) config_node.fail("expected the config.json object");
  out.model_config = config_node.value();
  const ModelConfig config = parse_model_config(out.model_config.dump(), source + ": model.config");
  out.backend = root["backend"].string();
  out.prompt = root["prompt"].string();
  out.generated_text = root["generated_text"].string();
  out.sampling = read_sampling(root["sampling"]);
  out.interventions = read_interventions(root["interventions"], config, version);
  out.routing_detail = read_routing_detail(root);
  const LayerContext context{config, out.routing_detail, version};
  out.tokens = read_tokens(root["tokens"], context);
  if (root.has("comparison"))
    out.comparison = read_comparison(root["comparison"], context, out.tokens);
  if (root.has("incomplete")) {
    const Node incomplete = root["incomplete"];
    out.incomplete = incomplete.string();
    if (out.incomplete.empty()) incomplete.fail("an empty reason; leave the field out instead");
  }
  return out;
}

void write_snapshot(const RoutingSnapshot& snapshot, const fs::path& path) {
  std::string text;
  try {
    // Token pieces can split a UTF-8 character; replace such bytes rather than fail.
    text = snapshot_to_json(snapshot).dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (const EngineError& e) {
    throw EngineError(path.string() + ": " + e.what());
  }
  text += '\n';
  write_file_atomically(path, text);
}

RoutingSnapshot read_snapshot(const fs::path& path) {
  return snapshot_from_json(read_json_file(path), path.string());
}

}  // namespace moescope
