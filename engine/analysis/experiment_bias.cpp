// "Balancing without a loss" (DeepSeek-V3, section 2.1.2): V3 keeps its experts
// balanced with a per-expert bias that steers selection only. A model with the
// bias is evaluated as trained and selecting by its raw scores; a model trained
// with an auxiliary loss instead is evaluated once beside it. Per MoE layer:
// each expert's load relative to its fair share, and the loss of each run.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "analysis/experiment_plans.h"
#include "analysis/routing_analysis.h"

namespace moescope::experiments {

namespace {

constexpr double starved_below = 0.25;  // of the fair share: an expert the gate has all but dropped

struct Balance {
  double max_ratio = 0.0;  // the busiest expert's load / fair share
  double cv = 0.0;         // coefficient of variation of the loads
  int starved = 0;         // experts under starved_below of their fair share
};

Balance balance_of(const std::vector<double>& load) {
  Balance b;
  if (load.empty()) return b;
  const double mean = std::accumulate(load.begin(), load.end(), 0.0) / load.size();
  double squares = 0.0;
  for (double l : load) {
    b.max_ratio = std::max(b.max_ratio, l);
    squares += (l - mean) * (l - mean);
    b.starved += l < starved_below;
  }
  b.cv = mean > 0 ? std::sqrt(squares / load.size()) / mean : 0.0;
  return b;
}

std::vector<TokenRouting> all_tokens(const Evaluation& e) {
  std::vector<TokenRouting> tokens;
  for (const LabelEvaluation& l : e.labels)
    tokens.insert(tokens.end(), l.routing.begin(), l.routing.end());
  return tokens;
}

}  // namespace

RoutedSweep selection_bias_sweep() {
  RoutedSweep sweep;
  sweep.conditions = [](const ModelConfig& c) {
    if (!c.score_correction_bias) return std::vector<Condition>{{"balance loss", 0, {}}};
    Condition raw{"without the bias", 1, {}};  // the raw scores select
    raw.interventions.select_without_bias = true;
    return std::vector<Condition>{{"with the bias", 0, {}}, raw};
  };
  sweep.read = [](const std::string& model, const ModelConfig& c,
                  const std::vector<std::pair<Condition, Evaluation>>& runs,
                  ExperimentResult& result) {
    const std::vector<int> layers = c.moe_layers();
    std::vector<std::string> experts;
    for (int e = 0; e < c.n_routed_experts; ++e) experts.push_back(std::to_string(e));
    std::vector<std::string> layer_names;
    for (int layer : layers) layer_names.push_back("layer " + std::to_string(layer));
    for (const auto& [condition, evaluation] : runs) {
      const std::vector<TokenRouting> tokens = all_tokens(evaluation);
      HeatmapFigure map{model + " · " + condition.name,
                        "Routed expert",
                        "MoE layer",
                        "Load relative to balance (1 = fair share)",
                        layer_names,
                        experts,
                        {},
                        1.0};
      // Dashed: the same model with its bias dropped.
      Curve curve{
          model + " · " + condition.name, {}, {}, condition.interventions.select_without_bias};
      double worst = 0.0;
      int starved = 0;
      for (int slot = 0; slot < static_cast<int>(layers.size()); ++slot) {
        const std::vector<double> load = relative_load(tokens, slot, c.n_routed_experts);
        map.values.insert(map.values.end(), load.begin(), load.end());
        const Balance b = balance_of(load);
        curve.x.push_back(layers[slot]);
        curve.y.push_back(b.max_ratio);
        worst = std::max(worst, b.max_ratio);
        starved += b.starved;
        result.table.rows.push_back({model, condition.name, layers[slot], b.max_ratio, b.cv,
                                     b.starved, evaluation.mean_loss()});
      }
      result.findings.push_back(model + ", " + condition.name + ": busiest expert " +
                                fixed(worst, 2) + "x its fair share, " + std::to_string(starved) +
                                " experts under " + fixed(starved_below, 2) +
                                " of theirs (all layers), loss " + fixed(evaluation.mean_loss()));
      result.curves->curves.push_back(std::move(curve));
      result.heatmaps.push_back(std::move(map));
    }
  };
  sweep.start = [](ExperimentResult& result) {
    result.table.columns = {"model",   "condition",       "layer",    "max_load_ratio",
                            "load_cv", "starved_experts", "mean_loss"};
    CurveFigure figure;
    figure.x_label = "MoE layer";
    figure.y_label = "Busiest expert's load / fair share (1 = balanced)";
    result.curves = figure;
  };
  return sweep;
}

}  // namespace moescope::experiments
