#include "cli/server_generate.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "core/error.h"

#ifdef MOESCOPE_WITH_REMOTE  // the one place that knows whether libcurl was found
#include "cli/routing_summary.h"
#include "io/snapshot.h"
#include "remote/served_generation.h"
#include "remote/served_routing_source.h"
#include "tokenizer/tokenizer.h"
#endif

namespace moescope::cli {

void add_server_options(CLI::App& generate, ServerOptions& options) {
  generate.add_option("--server", options.url,
                      "Generate on a vLLM or SGLang server started with "
                      "--enable-return-routed-experts (URL; --model is then the served name)");
  generate.add_option("--engine", options.engine, "The server's engine: vllm or sglang")
      ->check(CLI::IsMember({"vllm", "sglang"}))
      ->needs("--server");
  generate
      .add_option("--config", options.config,
                  "With --server: the served model's config.json, or its folder (a "
                  "tokenizer there gives the token texts)")
      ->needs("--server");
  generate
      .add_option("--api-key-env", options.api_key_env,
                  "With --server: the environment variable holding the API key")
      ->needs("--server");
}

#ifdef MOESCOPE_WITH_REMOTE
namespace {

ServerConnection connection(const ServerOptions& options) {
  ServerConnection server{
      options.url, options.engine == "sglang" ? ServerEngine::sglang : ServerEngine::vllm, ""};
  if (!options.api_key_env.empty()) {
    const char* key = std::getenv(options.api_key_env.c_str());
    if (!key || !*key)
      throw EngineError("--api-key-env " + options.api_key_env + ": that variable is not set");
    server.api_key = key;
  }
  return server;
}

}  // namespace

void run_server_generate(const ServerOptions& options, const std::string& model_name,
                         const std::string& prompt, const SamplingSettings& sampling,
                         const std::string& json_path, bool summary) {
  if (model_name.empty())
    throw EngineError("--server needs --model: the name the server serves the model under");
  if (options.config.empty())
    throw EngineError(
        "--server needs --config: the served model's config.json (its layers and "
        "experts; the servers do not send it)");
  const ServerConnection server = connection(options);
  const ServedModel model = load_served_model(options.config, model_name);
  // The prompt once the server answers, so that a refusal is not preceded by it.
  bool prompt_shown = false;
  const auto show = [&](const std::string& text) {
    if (!prompt_shown) std::cout << valid_utf8(prompt);
    prompt_shown = true;
    std::cout << valid_utf8(text) << std::flush;
  };
  const ServedGeneration run = generate_on_server(server, model, prompt, sampling, show);
  if (!prompt_shown) show("");
  std::cout << "\n";
  std::cerr << "[" << run.prompt_tokens << " prompt tokens, " << run.generated_tokens
            << " generated on " << options.url << " (" << options.engine << ")"
            << (run.finish_reason.empty() ? "" : "; stopped: " + run.finish_reason) << "]\n";
  if (!run.snapshot.incomplete.empty())
    std::cerr << "incomplete: " << run.snapshot.incomplete << "\n";
  if (summary) {  // the local run's summary, over the tokens the server reported routing for
    GenerationRequest request;
    GenerationResult result;
    for (const SnapshotToken& token : run.snapshot.tokens)
      result.tokens.push_back({.text = token.text, .routing = token.routing});
    result.prompt_tokens = run.prompt_tokens;
    result.generated_tokens = run.generated_tokens;
    print_routing_summary(std::cout, model.config, request, result);
  }
  if (!json_path.empty()) {
    write_snapshot(run.snapshot, json_path);
    std::cerr << "routing snapshot written to " << json_path << "\n";
  }
}
ExperimentResult run_server_experiment(const ServerOptions& options, const std::string& model_name,
                                       double requests_per_second, const std::string& experiment,
                                       const std::vector<LabelledText>& texts,
                                       const ExperimentSettings& settings,
                                       const WorkMeter::Callback& progress) {
  if (model_name.empty())
    throw EngineError("--server needs --served-model: the name the server serves the model under");
  if (options.config.empty())
    throw EngineError(
        "--server needs --config: the served model's config.json and tokenizer (its layers "
        "and experts; the texts are cut into its tokens here)");
  const ServerConnection server = connection(options);
  const std::vector<std::string> served = served_models(server);
  if (std::find(served.begin(), served.end(), model_name) == served.end())
    throw EngineError(options.url + ": the server does not serve \"" + model_name + "\"");
  const ServedModel model = load_served_model(options.config, model_name);
  ServedRoutingSource source(server, model,
                             requests_per_second > 0 ? 1.0 / requests_per_second : 0.0, nullptr);
  ExperimentResult result =
      run_routing_experiment(experiment, {&source}, texts, settings, progress);
  std::cerr << model_name << " on " << options.url << " (" << options.engine
            << "): " << source.requests() << " requests\n";
  return result;
}
#else
namespace {

[[noreturn]] void without_libcurl() {
  throw EngineError(
      "--server: this moescope-cli was built without libcurl, which served models "
      "need (install libcurl4-openssl-dev and rebuild)");
}

}  // namespace

ExperimentResult run_server_experiment(const ServerOptions&, const std::string&, double,
                                       const std::string&, const std::vector<LabelledText>&,
                                       const ExperimentSettings&, const WorkMeter::Callback&) {
  without_libcurl();
}

void run_server_generate(const ServerOptions&, const std::string&, const std::string&,
                         const SamplingSettings&, const std::string&, bool) {
  without_libcurl();
}
#endif

}  // namespace moescope::cli
