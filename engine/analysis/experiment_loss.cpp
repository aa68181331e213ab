// The loss sweeps: redundancy (DeepSeekMoE Fig. 4), shared experts (§4.5) and
// the number of activated routed experts (Fig. 5).
#include <cmath>

#include "analysis/experiment_plans.h"

namespace moescope::experiments {

namespace {

std::string percent_change(double from, double to) {
  std::string text = to >= from ? "+" : "";
  text += fixed(100.0 * (to - from) / from, 1);
  return text + "%";
}

}  // namespace

LossSweep redundancy_sweep() {
  LossSweep sweep;
  sweep.conditions = [](const ModelConfig& c) {
    std::vector<Condition> out;
    const int k = c.num_experts_per_tok;
    for (int sixteenths = 0; sixteenths <= 4; ++sixteenths) {
      const int m = static_cast<int>(std::lround(sixteenths * c.n_routed_experts / 16.0));
      if (m + k > c.n_routed_experts) break;
      Condition condition{
          "top " + std::to_string(m) + " of " + std::to_string(c.n_routed_experts) + " off",
          static_cast<double>(sixteenths),
          {}};
      condition.interventions.disable_top_scoring = m;
      out.push_back(condition);
    }
    return out;
  };
  sweep.figure.x_label = "Share of routed experts disabled (each token's top-scoring ones)";
  sweep.figure.x_ticks = {"0", "1/16", "2/16", "3/16", "4/16"};
  sweep.figure.y_label = "Held-out loss (nats/token)";
  sweep.read = [](const std::string& model, const std::vector<std::pair<Condition, double>>& points,
                  std::vector<std::string>& findings) {
    const double base = points.front().second, last = points.back().second;
    findings.push_back(model + ": loss " + fixed(base) + " with all experts, " + fixed(last) +
                       " with " + points.back().first.name + " (" + percent_change(base, last) +
                       ")");
  };
  return sweep;
}

LossSweep shared_experts_sweep() {
  LossSweep sweep;
  sweep.conditions = [](const ModelConfig& c) {
    std::vector<Condition> out = {{"baseline", 0, {}}};
    if (c.n_shared_experts == 0) return out;
    Condition off{"shared experts off", 1, {}};
    off.interventions.disabled_shared.insert(Interventions::all_layers);
    out.push_back(off);
    if (c.num_experts_per_tok < c.n_routed_experts) {
      Condition replaced{"shared off, one more routed", 2, off.interventions};
      replaced.interventions.top_k = c.num_experts_per_tok + 1;
      out.push_back(replaced);
    }
    return out;
  };
  sweep.figure.style = CurveFigure::Style::bars;
  sweep.figure.x_ticks = {"baseline", "shared experts off", "shared off, one more routed"};
  sweep.figure.y_label = "Held-out loss (nats/token)";
  sweep.read = [](const std::string& model, const std::vector<std::pair<Condition, double>>& points,
                  std::vector<std::string>& findings) {
    if (points.size() == 1) {
      findings.push_back(model + ": no shared experts; loss " + fixed(points[0].second));
      return;
    }
    std::string line = model + ": loss " + fixed(points[0].second);
    for (std::size_t i = 1; i < points.size(); ++i)
      line += ", " + points[i].first.name + " " + fixed(points[i].second) + " (" +
              percent_change(points[0].second, points[i].second) + ")";
    findings.push_back(line);
  };
  return sweep;
}

LossSweep top_k_sweep() {
  LossSweep sweep;
  sweep.conditions = [](const ModelConfig& c) {
    std::vector<Condition> out;
    const int last = std::min(c.n_routed_experts, 2 * c.num_experts_per_tok);
    for (int k = 1; k <= last; ++k) {
      Condition condition{"k = " + std::to_string(k), static_cast<double>(k), {}};
      condition.interventions.top_k = k;
      out.push_back(condition);
    }
    return out;
  };
  sweep.figure.x_label = "Activated routed experts (k)";
  sweep.figure.y_label = "Held-out loss (nats/token)";
  sweep.read = [](const std::string& model, const std::vector<std::pair<Condition, double>>& points,
                  std::vector<std::string>& findings) {
    std::string line = model + ":";
    for (const auto& [condition, loss] : points)
      line += " " + condition.name + " " + fixed(loss) + ";";
    line.pop_back();
    findings.push_back(line);
  };
  return sweep;
}

}  // namespace moescope::experiments
