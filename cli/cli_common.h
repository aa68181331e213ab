#pragma once
// Pieces every moescope-cli command shares: the model option and its default,
// loading with a message, human-readable sizes.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "backends/backend_factory.h"
#include "model/model.h"
#include "run/sampling.h"

namespace CLI {
class App;
class Option;
class Validator;
}  // namespace CLI

namespace moescope::cli {

struct ModelOptions {
  std::string model_dir;  // empty = the bundled default
  std::string backend = "auto";
};

void add_model_options(CLI::App& command, ModelOptions& options);
// --max-tokens, --seed, --temperature, --top-p.
void add_sampling_options(CLI::App& command, SamplingSettings& sampling,
                          const std::string& max_tokens_help);
// A number in [min, max] (or (min, max] when min is excluded), `shown` in messages. CLI11's
// own ranges let NaN through, and their messages print a bound of hundreds of digits.
CLI::Validator number_in(double min, double max, bool min_included, const std::string& shown);
// A whole number in [min, max], for an int flag: "x is not in [1, 1000000]" or "'1.5' is not
// a whole number" instead of CLI11's conversion errors and its bounds of hundreds of digits.
CLI::Validator whole_number_in(long long min, long long max);
// --system: the chat's system message (empty: none).
CLI::Option* add_system_prompt_option(CLI::App& command, std::string& system_prompt);

// --model's directory or .gguf file (the bundled default when empty): where the
// tokenizer and chat template are read from (a .gguf may carry its own).
std::filesystem::path model_path(const ModelOptions& options);
std::unique_ptr<Model> load_model(const ModelOptions& options);
BackendSelection load_backend(const Model& model, const ModelOptions& options);

std::string format_bytes(std::int64_t bytes);  // "1.5 GiB"
std::string format_count(std::int64_t count);  // "16.38 B", "2.5 M"

}  // namespace moescope::cli
