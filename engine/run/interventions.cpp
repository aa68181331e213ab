#include "run/interventions.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "model/config.h"
#include "run/top_k.h"

namespace moescope {

namespace {

// Messages name the CLI spelling, which is also how the GUI shows interventions.
std::string layer_string(int layer) {
  return layer == Interventions::all_layers ? "all" : std::to_string(layer);
}
std::string expert_entry(int layer, int expert) {
  return "--disable " + layer_string(layer) + ":" + std::to_string(expert);
}
std::string shared_entry(int layer) {
  return "--disable-shared " + layer_string(layer);
}

// A non-negative integer or, for layers, "all"; nullopt for anything else.
std::optional<int> parse_index(std::string_view text, bool allow_all) {
  if (allow_all && text == "all") return Interventions::all_layers;
  int value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || stop != end || value < 0) return std::nullopt;
  return value;
}

// Comma-separated items, spaces around each trimmed.
std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  for (std::size_t start = 0;;) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string_view item = text.substr(start, comma - start);
    item.remove_prefix(std::min(item.find_first_not_of(' '), item.size()));
    item.remove_suffix(item.size() - (item.find_last_not_of(' ') + 1));
    items.push_back(item);
    if (comma == text.size()) return items;
    start = comma + 1;
  }
}

// "1-27", or runs such as "2, 4, 6" when MoE layers are interleaved with dense ones.
std::string moe_layers_string(const ModelConfig& c) {
  std::string runs;
  for (int first = 0; first < c.num_hidden_layers; ++first) {
    if (!c.is_moe_layer(first) || (first > 0 && c.is_moe_layer(first - 1))) continue;
    int last = first;
    while (last + 1 < c.num_hidden_layers && c.is_moe_layer(last + 1)) ++last;
    if (!runs.empty()) runs += ", ";
    runs += std::to_string(first) + (last > first ? "-" + std::to_string(last) : "");
  }
  return runs.empty() ? "none" : runs;
}

void check_layer(const ModelConfig& c, int layer, const std::string& entry) {
  if (layer == Interventions::all_layers) return;
  if (layer < 0 || layer >= c.num_hidden_layers)
    throw EngineError(entry + ": layer " + std::to_string(layer) + " out of range (the model has " +
                      std::to_string(c.num_hidden_layers) + " layers: 0-" +
                      std::to_string(c.num_hidden_layers - 1) + ")");
  if (!c.is_moe_layer(layer))
    throw EngineError(entry + ": layer " + std::to_string(layer) +
                      " is a dense layer (MoE layers: " + moe_layers_string(c) + ")");
}

void check_expert(const ModelConfig& c, int layer, int expert) {
  const std::string entry = expert_entry(layer, expert);
  check_layer(c, layer, entry);
  const int n = c.n_routed_experts;
  if (expert >= 0 && expert < n) return;
  const std::string holder =
      layer == Interventions::all_layers ? "the model" : "layer " + std::to_string(layer);
  throw EngineError(entry + ": expert " + std::to_string(expert) + " out of range (" + holder +
                    " has " + std::to_string(n) + " routed experts" +
                    (n > 0 ? ": 0-" + std::to_string(n - 1) : "") + ")");
}

}  // namespace

void Interventions::validate(const ModelConfig& config) const {
  for (const auto& [layer, expert] : disabled_experts) check_expert(config, layer, expert);
  for (int layer : disabled_shared) check_layer(config, layer, shared_entry(layer));
  if (!disabled_shared.empty() && config.n_shared_experts == 0)
    throw EngineError(shared_entry(*disabled_shared.begin()) +
                      ": this model has no shared experts to switch off");

  if (select_without_bias && !config.score_correction_bias)
    throw EngineError(
        "--select-without-bias: this model's gate has no e_score_correction_bias "
        "(only DeepSeek-V3's does)");
  if (no_group_limit && !config.routes_by_groups())
    throw EngineError("--no-group-limit: this model does not route by groups of experts");

  const int n = config.n_routed_experts;
  const int k = top_k.value_or(config.num_experts_per_tok);
  if (top_k && (k < 1 || k > n))
    throw EngineError("--top-k-experts " + std::to_string(k) + ": k must be between 1 and the " +
                      std::to_string(n) + " routed experts");
  if (disable_top_scoring < 0)
    throw EngineError("disable_top_scoring " + std::to_string(disable_top_scoring) +
                      ": must not be negative");
  for (int layer = 0; layer < config.num_hidden_layers; ++layer) {
    if (!config.is_moe_layer(layer)) continue;
    int enabled = -disable_top_scoring;
    for (int expert = 0; expert < n; ++expert) enabled += !expert_disabled(layer, expert);
    if (enabled < k)
      throw EngineError("--disable: layer " + std::to_string(layer) + " keeps only " +
                        std::to_string(std::max(enabled, 0)) + " of " + std::to_string(n) +
                        " routed experts, fewer than k = " + std::to_string(k));
  }
}

std::vector<bool> Interventions::selectable(int layer, std::span<const float> scores) const {
  const int n = static_cast<int>(scores.size());
  std::vector<bool> allowed;
  for (int e = 0; e < n; ++e)
    if (expert_disabled(layer, e)) {
      allowed.resize(n, true);
      allowed[e] = false;
    }
  if (disable_top_scoring > 0) {
    allowed.resize(n, true);
    // The gate's own top-k (ties to the lower id) over all experts.
    for (int e : moescope::top_k(scores, disable_top_scoring, {})) allowed[e] = false;
  }
  return allowed;
}

void parse_disabled_experts(const std::string& text, Interventions& out) {
  for (std::string_view item : split_list(text)) {
    const std::size_t colon = item.find(':');
    const auto layer = parse_index(item.substr(0, colon), true);
    const auto expert =
        colon == item.npos ? std::nullopt : parse_index(item.substr(colon + 1), false);
    if (!layer || !expert)
      throw EngineError("--disable \"" + std::string(item) +
                        "\": expected LAYER:EXPERT with LAYER a number or \"all\" (e.g. "
                        "3:17,all:5)");
    out.disabled_experts.emplace(*layer, *expert);
  }
}

void parse_disabled_shared(const std::string& text, Interventions& out) {
  for (std::string_view item : split_list(text)) {
    const auto layer = parse_index(item, true);
    if (!layer)
      throw EngineError("--disable-shared \"" + std::string(item) +
                        "\": expected a layer number or \"all\" (e.g. 1,5)");
    out.disabled_shared.insert(*layer);
  }
}

}  // namespace moescope
