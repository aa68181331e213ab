#include "io/golden_check.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>

#include "core/error.h"
#include "run/routing.h"

namespace moescope {
namespace {

using nlohmann::json;

double relative_error(std::span<const float> actual, const std::vector<double>& expected) {
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
    norm += expected[i] * expected[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-300));
}

double max_abs_error(const std::vector<float>& actual, const std::vector<double>& expected) {
  double worst = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, std::abs(actual[i] - expected[i]));
  return worst;
}

// The experts ranked by score, best first (ties by id, as the router breaks them).
std::vector<int> ranked(const std::vector<double>& scores) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
  return order;
}

std::vector<int> sorted(std::vector<int> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string list(const std::vector<int>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
  return out + "]";
}

// One MoE layer of one position against the reference record.
void compare_layer(const LayerRouting& actual, const json& expected, const ModelConfig& config,
                   const Interventions& interventions, const GoldenTolerances& tol,
                   const std::string& where, GoldenReport& report) {
  auto fail = [&](const std::string& what) { report.mismatches.push_back(where + ": " + what); };
  ++report.layer_decisions;
  const auto scores = expected.at("scores").get<std::vector<double>>();
  const auto ids = expected.at("ids").get<std::vector<int>>();
  const auto weights = expected.at("weights").get<std::vector<double>>();
  if (actual.scores.size() != scores.size() || actual.expert_ids.size() != ids.size())
    return fail("the engine routes to " + std::to_string(actual.expert_ids.size()) + " of " +
                std::to_string(actual.scores.size()) + " experts, the reference to " +
                std::to_string(ids.size()) + " of " + std::to_string(scores.size()));

  const double score_error = max_abs_error(actual.scores, scores);
  report.worst_routing_error = std::max(report.worst_routing_error, score_error);
  if (score_error >= tol.routing_absolute) fail("scores differ by " + std::to_string(score_error));

  // DeepSeek-V3 ranks the scores plus its bias, and group routing only the kept groups.
  const auto selection = expected.value("selection_scores", scores);
  const auto groups = expected.value("groups", std::vector<int>{});
  if (expected.contains("selection_scores")) {
    const double error = actual.selection_scores.size() == selection.size()
                             ? max_abs_error(actual.selection_scores, selection)
                             : HUGE_VAL;
    report.worst_routing_error = std::max(report.worst_routing_error, error);
    if (error >= tol.routing_absolute) fail("selection scores differ by " + std::to_string(error));
  }
  if (actual.groups != groups)
    return fail("kept groups differ: engine " + list(actual.groups) + ", reference " +
                list(groups));
  const int group_size = config.n_routed_experts / std::max(config.n_group, 1);
  const auto in_kept_group = [&](int e) {
    return groups.empty() || std::binary_search(groups.begin(), groups.end(), e / group_size);
  };

  if (actual.expert_ids != ids) {
    // Float32 may order two selectable experts of nearly equal score either
    // way: within the top k (the order of ids) or across the k-th place.
    std::vector<int> selectable;
    for (int e : ranked(selection))
      if (!interventions.expert_disabled(actual.layer, e) && in_kept_group(e))
        selectable.push_back(e);
    bool near_tie = false;
    for (std::size_t i = 0; i + 1 < selectable.size() && i < ids.size(); ++i)
      near_tie |= selection[selectable[i]] - selection[selectable[i + 1]] < tol.near_tie;
    if (near_tie)
      ++report.near_ties;
    else
      fail("chosen experts differ: engine " + list(actual.expert_ids) + ", reference " + list(ids));
    return;  // the weights belong to other experts: nothing more to compare
  }
  const double weight_error = max_abs_error(actual.gate_weights, weights);
  report.worst_routing_error = std::max(report.worst_routing_error, weight_error);
  if (weight_error >= tol.routing_absolute)
    fail("gate weights differ by " + std::to_string(weight_error));

  for (int id : actual.expert_ids)
    if (interventions.expert_disabled(actual.layer, id))
      fail("disabled expert " + std::to_string(id) + " was chosen");
  const bool shared = config.n_shared_experts > 0 && !interventions.shared_disabled(actual.layer);
  if (actual.shared_active != shared)
    fail(std::string("shared experts ") + (actual.shared_active ? "ran" : "did not run"));
  // Qwen2-MoE's sigmoid gate on the shared expert; 1 where shared experts are ungated.
  const double shared_gate = expected.value("shared_gate", 1.0);
  if (std::abs(actual.shared_gate - shared_gate) >= tol.routing_absolute)
    fail("shared expert gate " + std::to_string(actual.shared_gate) + ", reference " +
         std::to_string(shared_gate));
  // The choice without interventions: the reference's where it records one (interventions
  // that change the groups), else the plain top-k of the kept groups.
  std::vector<int> unmasked;
  if (expected.contains("plain_ids"))
    unmasked = expected.at("plain_ids").get<std::vector<int>>();
  else
    for (int e : ranked(selection))
      if (in_kept_group(e) && unmasked.size() < std::size_t(config.num_experts_per_tok))
        unmasked.push_back(e);
  if (actual.mask_changed != (sorted(actual.expert_ids) != sorted(unmasked)))
    fail(actual.mask_changed ? "marked as changed by the mask, but the plain top-k chose the same"
                             : "not marked as changed by the mask, but the plain top-k differs");
}

}  // namespace

Interventions golden_interventions(const json& golden) {
  const json& j = golden.at("interventions");
  Interventions out;
  for (const auto& pair : j.at("disabled"))
    out.disabled_experts.insert({pair.at(0).get<int>(), pair.at(1).get<int>()});
  for (const auto& layer : j.at("shared_disabled")) out.disabled_shared.insert(layer.get<int>());
  if (!j.at("top_k").is_null()) out.top_k = j.at("top_k").get<int>();
  out.select_without_bias = j.value("select_without_bias", false);
  out.no_group_limit = j.value("no_group_limit", false);
  return out;
}

GoldenReport check_golden(Backend& backend, const ModelConfig& config, const json& golden,
                          const GoldenTolerances& tolerances) {
  GoldenReport report;
  try {
    const Interventions interventions = golden_interventions(golden);
    interventions.validate(config);
    const auto tokens = golden.at("tokens").get<std::vector<int>>();
    const json& all_logits = golden.at("logits");
    const json& all_routing = golden.at("routing");
    if (all_logits.size() != tokens.size() || all_routing.size() != tokens.size())
      throw EngineError("the golden has " + std::to_string(tokens.size()) + " tokens but " +
                        std::to_string(all_logits.size()) + " rows of logits and " +
                        std::to_string(all_routing.size()) + " of routing");
    backend.reset();
    std::vector<TokenRouting> traces(tokens.size());
    const std::span<const float> every =
        backend.forward_batch(tokens, 0, interventions, traces, LogitsWanted::all);
    const std::size_t vocab = every.size() / tokens.size();
    for (std::size_t pos = 0; pos < tokens.size(); ++pos) {
      const std::string where = "position " + std::to_string(pos);
      const TokenRouting& trace = traces[pos];
      const std::span<const float> logits = every.subspan(pos * vocab, vocab);
      const auto expected = all_logits[pos].get<std::vector<double>>();
      if (expected.size() != logits.size())
        throw EngineError(where + ": the golden has " + std::to_string(expected.size()) +
                          " logits, the model's vocabulary " + std::to_string(logits.size()));
      const double error = relative_error(logits, expected);
      report.worst_logits_error = std::max(report.worst_logits_error, error);
      if (error >= tolerances.logits_relative)
        report.mismatches.push_back(where + ": logits relative error " + std::to_string(error));
      const json& layers = all_routing[pos];
      if (layers.size() != trace.layers.size()) {
        report.mismatches.push_back(where + ": " + std::to_string(trace.layers.size()) +
                                    " MoE layers, the reference has " +
                                    std::to_string(layers.size()));
        continue;
      }
      for (std::size_t l = 0; l < layers.size(); ++l) {
        const LayerRouting& actual = trace.layers[l];
        const std::string at = where + " layer " + std::to_string(actual.layer);
        if (actual.layer != layers[l].at("layer").get<int>())
          report.mismatches.push_back(at + ": the reference's record is for layer " +
                                      std::to_string(layers[l].at("layer").get<int>()));
        else
          compare_layer(actual, layers[l], config, interventions, tolerances, at, report);
      }
      ++report.positions;
    }
  } catch (const json::exception& e) {
    throw EngineError(std::string("not a golden file: ") + e.what());
  }
  return report;
}

}  // namespace moescope
