// moescope-cli experiment NAME: the MoE papers' routing analyses over labelled
// texts, on the experiment's bundled models or on the models given.
#include <CLI/CLI.hpp>
#include <climits>
#include <cstdio>
#include <iostream>

#include "analysis/experiment_models.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/server_generate.h"
#include "core/error.h"
#include "io/atomic_file.h"

namespace moescope::cli {
namespace {

struct ExperimentOptions {
  std::string name;
  std::vector<std::string> model_dirs;  // empty = the experiment's bundled models
  std::string backend = "auto";
  std::vector<std::string> texts;  // empty = the bundled held-out texts
  ExperimentSettings settings;
  std::string json_path;
  std::string csv_path;
  bool quiet = false;
  ServerOptions server;      // --server: the routing analyses on a served model
  std::string served_model;  // the name it is served under
  double requests_per_second = 4.0;
};

std::vector<std::filesystem::path> model_paths(const ExperimentOptions& o) {
  if (o.model_dirs.empty()) return default_models(o.name);
  return {o.model_dirs.begin(), o.model_dirs.end()};
}

void print_catalogue() {
  for (const ExperimentInfo& e : experiment_catalogue())
    std::printf("%-15s %s (%s)\n%15s %s\n", e.name.c_str(), e.title.c_str(), e.source.c_str(), "",
                e.summary.c_str());
}

void run(const ExperimentOptions& o) {
  if (o.name == "list") return print_catalogue();
  const bool served = !o.server.url.empty();
  if (served && !o.model_dirs.empty())
    throw EngineError(
        "--server and --model: an experiment runs on the served model or on "
        "model folders, not both");
  if (served) check_routing_only(o.name);  // before any request
  const std::vector<LoadedModel> loaded =
      served ? std::vector<LoadedModel>{}
             : load_models(model_paths(o), parse_backend_choice(o.backend));
  for (const LoadedModel& m : loaded)
    std::cerr << m.model->name() << ": " << m.backend.backend->name() << " (" << m.backend.reason
              << ")\n";
  const std::vector<std::filesystem::path> files =
      o.texts.empty() ? text_files_in(default_text_set_dir())
                      : std::vector<std::filesystem::path>(o.texts.begin(), o.texts.end());
  int last_percent = -1;
  const auto progress = [&](long done, long total) {
    const int percent = total ? static_cast<int>(100 * done / total) : 100;
    if (o.quiet || percent == last_percent) return;
    last_percent = percent;
    std::fprintf(stderr, "\r%s: %3d%% (%ld of %ld tokens)", o.name.c_str(), percent, done, total);
    if (done == total) std::fprintf(stderr, "\n");
  };
  const ExperimentResult result =
      served
          ? run_server_experiment(o.server, o.served_model, o.requests_per_second, o.name,
                                  load_text_set(files), o.settings, progress)
          : run_experiment(o.name, under_test(loaded), load_text_set(files), o.settings, progress);

  std::printf("%s\n", result.title.c_str());
  for (const std::string& line : result.findings) std::printf("  %s\n", line.c_str());
  if (!o.json_path.empty()) write_file_atomically(o.json_path, to_json(result).dump(1) + "\n");
  if (!o.csv_path.empty()) write_file_atomically(o.csv_path, to_csv(result.table));
}

}  // namespace

void add_experiment_command(CLI::App& app) {
  auto options = std::make_shared<ExperimentOptions>();
  CLI::App* command = app.add_subcommand(
      "experiment", "Reproduce an MoE paper's routing analysis (\"list\" shows them all)");
  std::vector<std::string> names = {"list"};
  for (const ExperimentInfo& e : experiment_catalogue()) names.push_back(e.name);
  command->add_option("name", options->name, "Experiment")->required()->check(CLI::IsMember(names));
  command->add_option(
      "--model", options->model_dirs,
      "Model directory, repeatable (default: deepseekmoe-tiny and gshard-tiny; for bias "
      "deepseekv3-tiny and deepseekmoe-tiny)");
  command->add_option("--backend", options->backend, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  command
      ->add_option("--texts", options->texts,
                   "Text files, one label each; documents split by a line holding U+001E "
                   "(default: the bundled held-out texts)")
      ->check(CLI::ExistingFile);
  command
      ->add_option("--tokens-per-text", options->settings.eval.tokens_per_label,
                   "Tokens read from each text")
      ->capture_default_str()
      ->check(whole_number_in(1, max_tokens_per_text));
  command->add_option("--window", options->settings.eval.window, "Tokens of context per window")
      ->capture_default_str()
      ->check(whole_number_in(1, max_tokens_per_text));
  command
      ->add_option("--layer", options->settings.layer,
                   "Only this MoE layer (default: every MoE layer; vocabulary: the last)")
      ->check(whole_number_in(0, INT_MAX));
  command
      ->add_option("--experts", options->settings.top_experts,
                   "Co-activation: the most used experts shown")
      ->capture_default_str()
      ->check(whole_number_in(1, INT_MAX));
  command
      ->add_option("--tokens", options->settings.top_tokens,
                   "Vocabulary: the most frequent tokens shown")
      ->capture_default_str()
      ->check(whole_number_in(1, INT_MAX));
  command->add_option("--json", options->json_path, "Write the whole result as JSON");
  command->add_option("--csv", options->csv_path, "Write the result table as CSV");
  command->add_flag("--quiet", options->quiet, "No progress on stderr");
  // Routing analyses only (the loss sweeps need the local engine): each text window
  // goes to the server as token ids, its prompt routing comes back.
  add_server_options(*command, options->server);
  command->get_option("--server")
      ->description(
          "Run a routing analysis on a vLLM or SGLang server started with "
          "--enable-return-routed-experts (URL; the model named by --served-model)");
  command
      ->add_option("--served-model", options->served_model,
                   "With --server: the name the server serves the model under")
      ->needs("--server");
  command
      ->add_option("--requests-per-second", options->requests_per_second,
                   "With --server: at most this many requests a second (0: no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1000.0))
      ->needs("--server");
  command->callback([options] { run(*options); });
}

}  // namespace moescope::cli
