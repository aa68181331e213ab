#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/error.h"
#include "io/golden_check.h"

namespace moescope::cli {
namespace {

struct CheckOptions {
  ModelOptions model;
  std::string golden;
};

std::string scientific(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2e", value);
  return text;
}

// The chosen backend against a reference run: the engine's correctness check
// for a new backend, a new machine, or a freshly trained model.
void run_check(const CheckOptions& options) {
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

}  // namespace

void add_check_command(CLI::App& app) {
  auto o = std::make_shared<CheckOptions>();
  CLI::App* c = app.add_subcommand(
      "check", "Compare the engine with a reference run (logits and routing of a golden file)");
  add_model_options(*c, o->model);
  c->add_option("--golden", o->golden,
                "A golden file of tools/reference/ or tools/train/make_golden.py")
      ->required();
  c->callback([o] { run_check(*o); });
}

}  // namespace moescope::cli
