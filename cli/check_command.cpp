#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend_compare.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/model_source.h"
#include "core/error.h"
#include "io/golden_check.h"

namespace moescope::cli {
namespace {

struct CheckOptions {
  ModelOptions model;
  RandomModelOptions random;
  std::string golden;  // empty: the backend against the CPU backend
  int prompt_tokens = 32;
  int gen_tokens = 8;
};

std::string scientific(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2e", value);
  return text;
}

// The chosen backend against a reference run: the engine's correctness check
// for a new backend, a new machine, or a freshly trained model.
void run_golden_check(const CheckOptions& options) {
  std::ifstream in(options.golden);
  if (!in) throw EngineError(options.golden + ": cannot open the golden file");
  nlohmann::json golden;
  try {
    golden = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw EngineError(options.golden + ": " + e.what());
  }
  const auto model = load_model(options.model);
  BackendSelection selection = load_backend(*model, options.model);
  GoldenReport report;
  try {
    report = check_golden(*selection.backend, model->config(), golden);
  } catch (const EngineError& e) {
    throw EngineError(options.golden + ": " + e.what());
  }
  std::cout << options.golden << ": " << report.positions << " positions, "
            << report.layer_decisions << " MoE-layer decisions on " << selection.backend->name()
            << "\n"
            << "  largest logits relative error " << scientific(report.worst_logits_error)
            << " (tolerance 1e-4), largest routing error " << scientific(report.worst_routing_error)
            << " (tolerance 1e-5), " << report.near_ties << " near-ties\n";
  if (report.ok()) {
    std::cout << "  OK: the same logits and the same experts as the reference\n";
    return;
  }
  for (std::size_t i = 0; i < report.mismatches.size() && i < 10; ++i)
    std::cerr << "  " << report.mismatches[i] << "\n";
  const std::size_t n = report.mismatches.size();
  throw EngineError("the engine differs from the reference " + options.golden + " in " +
                    std::to_string(n) + (n == 1 ? " place" : " places"));
}

// max |Δ| / max |x| of the residual stream after each layer, eight layers a line.
void print_hidden_errors(const std::vector<ErrorStats>& layers) {
  for (std::size_t l = 0; l < layers.size(); ++l)
    std::cout << (l % 8 ? " "
                  : l   ? "\n    "
                        : "  hidden states, max |d| / max |x|, by layer:\n    ")
              << l << ": " << scientific(layers[l].relative());
  std::cout << "\n";
}

// The chosen backend against the CPU backend, the oracle, on the same model: a prompt
// as one batch, then greedy decoding; logits, every layer's residual stream and every
// MoE layer's experts compared (engine/backends/backend_compare.h).
void run_backend_check(const CheckOptions& options) {
  const auto model =
      load_model(options.model, options.random, options.prompt_tokens + options.gen_tokens);
  const ModelConfig& c = model->config();
  BackendSelection candidate = load_backend(*model, options.model);
  BackendSelection reference = make_backend(*model, BackendChoice::cpu);
  const std::vector<int> prompt = fixed_prompt(c, options.prompt_tokens);
  const CompareTolerances tolerances;
  const BackendComparison result = compare_backends(*candidate.backend, *reference.backend, c,
                                                    prompt, options.gen_tokens, {}, tolerances);
  std::cout << model->name() << ": " << candidate.backend->name() << " against "
            << reference.backend->name() << ", " << options.prompt_tokens
            << " prompt tokens in one batch + " << options.gen_tokens << " decoded\n"
            << "  logits, max |d| / max |logit| " << scientific(result.logits.relative())
            << ", norm ratio " << scientific(result.logits.norm_ratio()) << " (tolerance "
            << scientific(tolerances.logits) << ")\n";
  print_hidden_errors(result.hidden);
  std::cout << "  routing: " << result.routing_compared << " MoE-layer decisions, "
            << result.near_ties << " near-ties, " << result.mismatches
            << " mismatches; gate weights max |d| " << scientific(result.gate_weight_error) << "\n";
  if (result.passed(tolerances)) {
    std::cout << "  OK: no expert chosen differently but at a near-tie, every error within "
                 "tolerance (hidden states "
              << scientific(tolerances.hidden) << ", gate weights "
              << scientific(tolerances.gate_weights) << ")";
    if (result.compared_until >= 0)
      std::cout << "; positions from " << result.compared_until
                << " on follow a near-tie's other branch, not compared";
    std::cout << "\n";
    return;
  }
  throw EngineError(candidate.backend->name() +
                    " differs from the CPU backend: " + result.summary(tolerances));
}

}  // namespace

void add_check_command(CLI::App& app) {
  auto o = std::make_shared<CheckOptions>();
  CLI::App* c = app.add_subcommand(
      "check",
      "Compare the engine with a reference run (logits and routing of a golden file) or, "
      "without --golden, the chosen backend with the CPU backend");
  add_model_options(*c, o->model);
  add_random_model_options(*c, o->random);
  c->add_option("--golden", o->golden,
                "A golden file of tools/reference/ or tools/train/make_golden.py")
      ->excludes("--random-weights");
  c->add_option("--prompt-tokens", o->prompt_tokens, "Without --golden: the prompt's length")
      ->capture_default_str()
      ->check(whole_number_in(1, 1'000'000));
  c->add_option("--gen-tokens", o->gen_tokens, "Without --golden: tokens decoded after it")
      ->capture_default_str()
      ->check(whole_number_in(0, 1'000'000));
  c->callback([o] { o->golden.empty() ? run_backend_check(*o) : run_golden_check(*o); });
}

}  // namespace moescope::cli
