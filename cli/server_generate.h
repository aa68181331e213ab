#pragma once
// generate --server: the prompt to a model served by vLLM or SGLang, its routing
// shown and saved as for a local run; experiment --server: a routing analysis on
// such a model (docs/REMOTE.md).
#include <string>
#include <vector>

#include "analysis/experiments.h"
#include "run/sampling.h"

namespace CLI {
class App;
}

namespace moescope::cli {

struct ServerOptions {
  std::string url;  // empty: generate runs the model itself
  std::string engine = "vllm";
  std::string config;       // the served model's config.json or its folder
  std::string api_key_env;  // the environment variable holding the API key
};

// --server, --engine, --config, --api-key-env on the generate command.
void add_server_options(CLI::App& generate, ServerOptions& options);

// `model_name` is generate's --model, the name the server serves the model under.
void run_server_generate(const ServerOptions& options, const std::string& model_name,
                         const std::string& prompt, const SamplingSettings& sampling,
                         const std::string& json_path, bool summary);

// The routing analysis `experiment` over `texts` on the model the server serves as
// `model_name`, at most `requests_per_second` requests (0: no limit).
ExperimentResult run_server_experiment(const ServerOptions& options, const std::string& model_name,
                                       double requests_per_second, const std::string& experiment,
                                       const std::vector<LabelledText>& texts,
                                       const ExperimentSettings& settings,
                                       const WorkMeter::Callback& progress);

}  // namespace moescope::cli
