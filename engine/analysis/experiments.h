#pragma once
// The MoE papers' routing analyses, run over labelled texts on one or more
// models (e.g. the bundled deepseekmoe-tiny / gshard-tiny pair).
#include <atomic>
#include <string>
#include <vector>

#include "analysis/evaluation.h"
#include "analysis/experiment_result.h"
#include "analysis/routing_source.h"
#include "analysis/text_set.h"
#include "model/config.h"
#include "run/backend.h"
#include "run/run_control.h"
#include "tokenizer/tokenizer.h"

namespace moescope {

struct ModelUnderTest {
  std::string name;
  Backend& backend;
  const Tokenizer& tokenizer;
  const ModelConfig& config;
};

// Far above the papers' held-out sets, and low enough that token counts stay inside an int.
inline constexpr int max_tokens_per_text = 100'000'000;

struct ExperimentSettings {
  EvalSettings eval;
  int layer = -1;        // restrict per-layer views to this layer; -1: every MoE layer
                         // (vocabulary: the last MoE layer)
  int top_experts = 24;  // co-activation: how many of the most used experts are shown
  int top_tokens = 20;   // vocabulary: how many of the most frequent tokens are shown
};

struct ExperimentInfo {
  std::string name;     // used on the command line: "redundancy"
  std::string title;    // "Disable the top routed experts"
  std::string source;   // "DeepSeekMoE, Fig. 4"
  std::string summary;  // one plain sentence on what it shows
  // The bundled models it runs on unless told (resources/models/<name>); empty: the bundled pair.
  std::vector<std::string> bundled_models = {};
  // Measures the model's loss (runs it with experts switched off): only a model
  // run here can; the others need expert ids alone, which a served model gives.
  bool needs_engine = false;
};

const std::vector<ExperimentInfo>& experiment_catalogue();

// Throws EngineError for an unknown name, a layer that is not an MoE layer of every
// model, a window below 1 token or beyond a model's max_position_embeddings, or more
// than max_tokens_per_text tokens per text, and Cancelled when `cancel` is set.
ExperimentResult run_experiment(const std::string& name, const std::vector<ModelUnderTest>& models,
                                const std::vector<LabelledText>& texts,
                                const ExperimentSettings& settings,
                                const WorkMeter::Callback& progress = {},
                                const std::atomic<bool>* cancel = nullptr);

// Throws EngineError, naming why, for an experiment that needs the engine (or unknown).
void check_routing_only(const std::string& name);

// A routing analysis (an experiment without needs_engine) over routing from each
// source, e.g. a model served by vLLM or SGLang. Throws EngineError as
// run_experiment, and for an experiment that needs the engine (naming why).
ExperimentResult run_routing_experiment(const std::string& name,
                                        const std::vector<RoutingSource*>& sources,
                                        const std::vector<LabelledText>& texts,
                                        const ExperimentSettings& settings,
                                        const WorkMeter::Callback& progress = {},
                                        const std::atomic<bool>* cancel = nullptr);

}  // namespace moescope
