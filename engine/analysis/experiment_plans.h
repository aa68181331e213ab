#pragma once
// Internal to the experiments: the two kinds of experiment. A loss sweep
// evaluates each model under a list of conditions; a routing analysis reads
// one plain routing pass per model.
#include <functional>
#include <string>
#include <vector>

#include "analysis/experiments.h"
#include "analysis/routing_source.h"

namespace moescope::experiments {

struct Condition {
  std::string name;  // "ratio 2/16", "shared off"
  double x = 0.0;    // position on the figure's x axis
  Interventions interventions;
};

using Conditions = std::function<std::vector<Condition>(const ModelConfig&)>;

struct LossSweep {
  Conditions conditions;
  CurveFigure figure;  // styling and labels; curves are filled in by the runner
  // Appends one-line readings given each model's (condition, mean loss) pairs.
  std::function<void(const std::string& model, const std::vector<std::pair<Condition, double>>&,
                     std::vector<std::string>& findings)>
      read;
};

LossSweep redundancy_sweep();
LossSweep shared_experts_sweep();
LossSweep top_k_sweep();

// A sweep that reads each run's routing as well as its loss: every model is
// evaluated under its conditions with routing captured; `start` sets the
// table's columns and the figure, `read` adds one model's runs.
struct RoutedSweep {
  Conditions conditions;
  std::function<void(ExperimentResult&)> start;
  std::function<void(const std::string& model, const ModelConfig&,
                     const std::vector<std::pair<Condition, Evaluation>>& runs, ExperimentResult&)>
      read;
};

// DeepSeek-V3's auxiliary-loss-free balancing: load per layer with and without the bias.
RoutedSweep selection_bias_sweep();

// One model's routing over the texts, from wherever it runs.
struct RoutingPass {
  const RoutingSource* model;
  Evaluation evaluation;
  std::vector<int> moe_layers;  // layer ids, one per TokenRouting::layers slot
};

using RoutingAnalysis = std::function<void(const std::vector<RoutingPass>&,
                                           const ExperimentSettings&, ExperimentResult&)>;

void domain_specialisation(const std::vector<RoutingPass>&, const ExperimentSettings&,
                           ExperimentResult&);
void coactivation(const std::vector<RoutingPass>&, const ExperimentSettings&, ExperimentResult&);
void locality(const std::vector<RoutingPass>&, const ExperimentSettings&, ExperimentResult&);
void vocabulary(const std::vector<RoutingPass>&, const ExperimentSettings&, ExperimentResult&);

// Short number formatting for findings.
std::string fixed(double value, int decimals = 3);

}  // namespace moescope::experiments
