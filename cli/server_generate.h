#pragma once
// generate --server: the prompt to a model served by vLLM or SGLang, its routing
// shown and saved as for a local run (docs/REMOTE.md).
#include <string>

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

}  // namespace moescope::cli
