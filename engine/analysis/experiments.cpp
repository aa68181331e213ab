#include "analysis/experiments.h"

#include <cstdio>
#include <map>

#include "analysis/experiment_plans.h"

namespace moescope {

namespace ex = experiments;

namespace {

struct Entry {
  ExperimentInfo info;
  std::function<ex::LossSweep()> sweep = {};     // set for loss sweeps
  ex::RoutingAnalysis analysis = {};             // set for routing analyses
  std::function<ex::RoutedSweep()> routed = {};  // set for sweeps that read routing too
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {.info = {.name = "redundancy",
                .title = "Disable the top routed experts",
                .source = "DeepSeekMoE, Fig. 4",
                .summary = "Held-out loss when each token's highest-scoring routed experts (0 to "
                           "4/16 of them) are switched off and top-k is re-picked from the rest: "
                           "the less redundant the experts, the faster the loss rises."},
       .sweep = ex::redundancy_sweep},
      {.info = {.name = "shared",
                .title = "Shared experts matter",
                .source = "DeepSeekMoE, section 4.5",
                .summary = "Held-out loss with the shared experts switched off, and switched off "
                           "with one more routed expert activated in their place."},
       .sweep = ex::shared_experts_sweep},
      {.info = {.name = "topk",
                .title = "How many routed experts are needed",
                .source = "DeepSeekMoE, Fig. 5",
                .summary = "Held-out loss as the number of activated routed experts varies."},
       .sweep = ex::top_k_sweep},
      {.info = {.name = "specialisation",
                .title = "Domain specialisation",
                .source = "DeepSeek-V3, Fig. 9; OLMoE",
                .summary = "Each domain's share of tokens per routed expert, relative to perfect "
                           "balance (1 = the expert's fair share), per layer."},
       .analysis = ex::domain_specialisation},
      {.info = {.name = "coactivation",
                .title = "Co-activation",
                .source = "OLMoE",
                .summary =
                    "P(expert j chosen | expert i chosen) among the most used experts of a layer."},
       .analysis = ex::coactivation},
      {.info = {.name = "locality",
                .title = "Routing locality",
                .source = "Mixtral, Table 5",
                .summary = "How often consecutive tokens share their first-choice expert, or a "
                           "first-or-second choice, per layer, against chance."},
       .analysis = ex::locality},
      {.info = {.name = "vocabulary",
                .title = "Vocabulary specialisation",
                .source = "OLMoE",
                .summary = "For each expert the tokens routed to it most often; for each frequent "
                           "token how concentrated its routing is."},
       .analysis = ex::vocabulary},
      {.info = {.name = "bias",
                .title = "Balancing without a loss",
                .source = "DeepSeek-V3, section 2.1.2",
                .summary =
                    "Each MoE layer's expert load relative to the fair share, and the held-out "
                    "loss, of a DeepSeek-V3 model as trained (its bias steering selection) and "
                    "with the raw scores selecting, beside a model balanced by an auxiliary loss.",
                .bundled_models = {"deepseekv3-tiny", "deepseekmoe-tiny"}},
       .routed = ex::selection_bias_sweep},
  };
  return list;
}

const Entry& find_entry(const std::string& name) {
  for (const Entry& e : entries())
    if (e.info.name == name) return e;
  std::string known;
  for (const Entry& e : entries()) known += (known.empty() ? "" : ", ") + e.info.name;
  throw EngineError("unknown experiment \"" + name + "\" (known: " + known + ")");
}

void check_models(const std::vector<RoutingSource*>& models, const ExperimentSettings& settings) {
  if (models.empty()) throw EngineError("an experiment needs at least one model");
  for (const RoutingSource* m : models) {
    if (m->config().n_routed_experts == 0)
      throw EngineError(m->name() + ": a dense model has no experts to analyse");
    if (settings.layer >= 0 && !m->config().is_moe_layer(settings.layer))
      throw EngineError("--layer " + std::to_string(settings.layer) + ": not an MoE layer of " +
                        m->name());
  }
  const EvalSettings& eval = settings.eval;
  if (eval.window < 1)
    throw EngineError("--window " + std::to_string(eval.window) +
                      ": a window holds at least 1 token");
  if (eval.tokens_per_label > max_tokens_per_text)
    throw EngineError("--tokens-per-text " + std::to_string(eval.tokens_per_label) + ": at most " +
                      std::to_string(max_tokens_per_text) + " tokens per text");
  if (eval.tokens_per_label < eval.window)
    throw EngineError("--tokens-per-text must be at least the window of " +
                      std::to_string(eval.window) + " tokens");
  for (const RoutingSource* m : models)
    if (eval.window > m->config().max_position_embeddings)
      throw EngineError("--window " + std::to_string(eval.window) + ": beyond " + m->name() +
                        "'s max_position_embeddings of " +
                        std::to_string(m->config().max_position_embeddings));
}

// Each model's texts as token streams and its conditions, validated, and what they cost.
struct SweepPlan {
  std::vector<std::vector<TokenStream>> streams;
  std::vector<std::vector<ex::Condition>> conditions;
  long total = 0;
};

SweepPlan plan_sweep(const ex::Conditions& conditions_of, const std::vector<ModelUnderTest>& models,
                     const std::vector<LabelledText>& texts, const ExperimentSettings& settings) {
  SweepPlan plan;
  for (const ModelUnderTest& m : models) {
    plan.streams.push_back(tokenize_text_set(m.tokenizer, texts, settings.eval));
    plan.conditions.push_back(conditions_of(m.config));
    for (const ex::Condition& c : plan.conditions.back()) c.interventions.validate(m.config);
    plan.total += evaluation_cost(plan.streams.back(), settings.eval) *
                  static_cast<long>(plan.conditions.back().size());
  }
  return plan;
}

ExperimentResult run_sweep(const ex::LossSweep& sweep, const std::vector<ModelUnderTest>& models,
                           const std::vector<LabelledText>& texts,
                           const ExperimentSettings& settings, const WorkMeter::Callback& progress,
                           const std::atomic<bool>* cancel) {
  const SweepPlan plan = plan_sweep(sweep.conditions, models, texts, settings);
  WorkMeter meter(plan.total, progress, cancel);

  ExperimentResult result;
  result.curves = sweep.figure;
  result.table.columns = {"model", "condition", "x", "mean_loss"};
  for (const LabelledText& t : texts) result.table.columns.push_back("loss_" + t.label);
  for (std::size_t i = 0; i < models.size(); ++i) {
    Curve curve{models[i].name, {}, {}, false};
    std::vector<std::pair<ex::Condition, double>> points;
    for (const ex::Condition& c : plan.conditions[i]) {
      const Evaluation e = evaluate(models[i].backend, models[i].config, plan.streams[i],
                                    c.interventions, settings.eval, meter);
      std::vector<nlohmann::json> row = {models[i].name, c.name, c.x, e.mean_loss()};
      for (const LabelEvaluation& l : e.labels) row.push_back(l.loss());
      result.table.rows.push_back(std::move(row));
      curve.x.push_back(c.x);
      curve.y.push_back(e.mean_loss());
      points.emplace_back(c, e.mean_loss());
    }
    result.curves->curves.push_back(std::move(curve));
    sweep.read(models[i].name, points, result.findings);
  }
  return result;
}

ExperimentResult run_routed_sweep(const ex::RoutedSweep& sweep,
                                  const std::vector<ModelUnderTest>& models,
                                  const std::vector<LabelledText>& texts,
                                  const ExperimentSettings& settings,
                                  const WorkMeter::Callback& progress,
                                  const std::atomic<bool>* cancel) {
  const SweepPlan plan = plan_sweep(sweep.conditions, models, texts, settings);
  WorkMeter meter(plan.total, progress, cancel);
  EvalSettings eval = settings.eval;
  eval.capture_routing = true;
  ExperimentResult result;
  sweep.start(result);
  for (std::size_t i = 0; i < models.size(); ++i) {
    std::vector<std::pair<ex::Condition, Evaluation>> runs;
    for (const ex::Condition& c : plan.conditions[i])
      runs.emplace_back(c, evaluate(models[i].backend, models[i].config, plan.streams[i],
                                    c.interventions, eval, meter));
    sweep.read(models[i].name, models[i].config, runs, result);
  }
  return result;
}

ExperimentResult run_analysis(const ex::RoutingAnalysis& analysis,
                              const std::vector<RoutingSource*>& sources,
                              const std::vector<LabelledText>& texts,
                              const ExperimentSettings& settings,
                              const WorkMeter::Callback& progress,
                              const std::atomic<bool>* cancel) {
  std::vector<std::vector<TokenStream>> streams;
  long total = 0;
  for (const RoutingSource* source : sources) {
    streams.push_back(tokenize_text_set(source->tokenizer(), texts, settings.eval));
    total += evaluation_cost(streams.back(), settings.eval);
  }
  WorkMeter meter(total, progress, cancel);
  std::vector<ex::RoutingPass> passes;
  for (std::size_t i = 0; i < sources.size(); ++i)
    passes.push_back({sources[i], sources[i]->route(streams[i], settings.eval, meter),
                      sources[i]->config().moe_layers()});
  ExperimentResult result;
  analysis(passes, settings, result);
  return result;
}

// The result's names: which experiment, on which models.
void label(ExperimentResult& result, const ExperimentInfo& info,
           const std::vector<RoutingSource*>& sources) {
  result.experiment = info.name;
  result.title = info.title + " (" + info.source + ")";
  for (const RoutingSource* source : sources) result.models.push_back(source->name());
}

}  // namespace

const std::vector<ExperimentInfo>& experiment_catalogue() {
  static const std::vector<ExperimentInfo> infos = [] {
    std::vector<ExperimentInfo> out;
    for (const Entry& e : entries()) {
      out.push_back(e.info);
      out.back().needs_engine = bool(e.sweep) || bool(e.routed);
    }
    return out;
  }();
  return infos;
}

ExperimentResult run_experiment(const std::string& name, const std::vector<ModelUnderTest>& models,
                                const std::vector<LabelledText>& texts,
                                const ExperimentSettings& settings,
                                const WorkMeter::Callback& progress,
                                const std::atomic<bool>* cancel) {
  const Entry& entry = find_entry(name);
  std::vector<BackendRoutingSource> local(models.begin(), models.end());
  std::vector<RoutingSource*> sources;
  for (BackendRoutingSource& source : local) sources.push_back(&source);
  check_models(sources, settings);
  if (texts.empty()) throw EngineError("an experiment needs at least one text");
  ExperimentResult result =
      entry.routed  ? run_routed_sweep(entry.routed(), models, texts, settings, progress, cancel)
      : entry.sweep ? run_sweep(entry.sweep(), models, texts, settings, progress, cancel)
                    : run_analysis(entry.analysis, sources, texts, settings, progress, cancel);
  label(result, entry.info, sources);
  return result;
}

void check_routing_only(const std::string& name) {
  const Entry& entry = find_entry(name);
  if (entry.sweep || entry.routed)
    throw EngineError(name + " (" + entry.info.title +
                      ") measures the model's loss, with experts switched off or its gate "
                      "changed, which needs the local engine: a served model gives its routing "
                      "only");
}

ExperimentResult run_routing_experiment(const std::string& name,
                                        const std::vector<RoutingSource*>& sources,
                                        const std::vector<LabelledText>& texts,
                                        const ExperimentSettings& settings,
                                        const WorkMeter::Callback& progress,
                                        const std::atomic<bool>* cancel) {
  check_routing_only(name);
  const Entry& entry = find_entry(name);
  check_models(sources, settings);
  if (texts.empty()) throw EngineError("an experiment needs at least one text");
  ExperimentResult result =
      run_analysis(entry.analysis, sources, texts, settings, progress, cancel);
  label(result, entry.info, sources);
  return result;
}

namespace experiments {

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace experiments

}  // namespace moescope
