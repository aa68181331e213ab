// import-routing and export-routing: routing that vLLM or SGLang captured, saved as
// the server's JSON answer, into a moescope snapshot, and a snapshot's routing out
// in either server's form (docs/REMOTE.md).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/json.h"
#include "io/atomic_file.h"
#include "io/snapshot.h"
#include "wire/server_files.h"

namespace moescope::cli {
namespace {

const std::map<std::string, ServerEngine> engines = {{"vllm", ServerEngine::vllm},
                                                     {"sglang", ServerEngine::sglang}};

struct ImportOptions {
  std::string from;
  std::string config;
  std::string out;
  std::string model_name;
  std::string prompt;
};

void run_import(const ImportOptions& options) {
  const nlohmann::json body = read_json_file(options.from);
  const ServedModel model =
      load_served_model(options.config, options.model_name.empty() && body.contains("model") &&
                                                body["model"].is_string()
                                            ? body["model"].get<std::string>()
                                            : options.model_name);
  ServedRun run;
  run.engine = engine_of_response(body);
  run.prompt = options.prompt;
  const ServerCompletion completion = completion_from_json(body, model.config, options.from);
  RoutingSnapshot snapshot = snapshot_from_completion(completion, model, run, options.from);
  if (snapshot.model_name.empty())
    snapshot.model_name = model.config_path.parent_path().filename().string();
  write_snapshot(snapshot, options.out);
  std::cerr << options.from << ": " << server_engine_name(run.engine) << " routing of "
            << completion.prompt_ids.size() << " prompt and " << completion.output_ids.size()
            << " generated tokens written to " << options.out << "\n";
}

struct ExportOptions {
  std::string snapshot;
  ServerEngine engine = ServerEngine::vllm;
  std::string out;
};

void run_export(const ExportOptions& options) {
  const RoutingSnapshot snapshot = read_snapshot(options.snapshot);
  const nlohmann::json body = completion_from_snapshot(snapshot, options.engine);
  write_file_atomically(options.out,
                        body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  std::cerr << options.snapshot << ": routing written as a " << server_engine_name(options.engine)
            << " /v1/completions answer to " << options.out << "\n";
}

}  // namespace

void add_routing_file_commands(CLI::App& app) {
  auto in = std::make_shared<ImportOptions>();
  CLI::App* i = app.add_subcommand(
      "import-routing", "Make a snapshot of routing saved from vLLM or SGLang (docs/REMOTE.md)");
  i->add_option("--from", in->from,
                "The server's JSON answer: vLLM or SGLang /v1/completions, or SGLang /generate")
      ->required();
  i->add_option("--config", in->config,
                "The served model's config.json, or its folder (a tokenizer there gives the "
                "token texts)")
      ->required();
  i->add_option("--out", in->out, "Snapshot to write")->required();
  i->add_option("--name", in->model_name, "Model name (default: the answer's \"model\")");
  i->add_option("--prompt", in->prompt, "The prompt text (default: decoded by the tokenizer)");
  i->callback([in] { run_import(*in); });

  auto out = std::make_shared<ExportOptions>();
  CLI::App* e = app.add_subcommand(
      "export-routing", "Write a snapshot's routing as a vLLM or SGLang answer (docs/REMOTE.md)");
  e->add_option("--snapshot", out->snapshot, "Routing snapshot to read")->required();
  e->add_option("--engine", out->engine, "vllm (nested lists) or sglang (sglext, base64 int32)")
      ->required()
      ->transform(CLI::CheckedTransformer(engines, CLI::ignore_case));
  e->add_option("--out", out->out, "JSON file to write")->required();
  e->callback([out] { run_export(*out); });
}

}  // namespace moescope::cli
