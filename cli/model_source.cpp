#include "cli/model_source.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <map>
#include <random>

#include "core/error.h"
#include "core/text_file.h"
#include "model/config.h"
#include "model/default_model.h"
#include "model/random_model.h"

namespace moescope::cli {

void add_random_model_options(CLI::App& command, RandomModelOptions& options) {
  CLI::Option* random =
      command.add_flag("--random-weights", options.random_weights,
                       "Seeded random weights in memory, in the shape of --config (or of "
                       "--model's config.json): no checkpoint needed");
  command
      .add_option("--config", options.config_file,
                  "A config.json (e.g. resources/configs/deepseek-moe-16b-base.json)")
      ->check(CLI::ExistingFile)
      ->needs(random);
  command.add_option("--dtype", options.dtype, "Random weights' dtype: bf16, f16 or f32")
      ->transform(CLI::CheckedTransformer(std::map<std::string, DType>{
          {"bf16", DType::bf16}, {"f16", DType::f16}, {"f32", DType::f32}}))
      ->default_str("bf16")
      ->needs(random);
  command.add_option("--seed", options.seed, "Random weights' seed")
      ->capture_default_str()
      ->needs(random);
}

namespace {

std::unique_ptr<Model> load_any_model(const ModelOptions& model, const RandomModelOptions& random) {
  if (!random.random_weights) return load_model(model);
  const std::filesystem::path dir =
      model.model_dir.empty() ? default_model_dir() : std::filesystem::path(model.model_dir);
  const std::filesystem::path file =
      random.config_file.empty() ? dir / "config.json" : std::filesystem::path(random.config_file);
  const std::string text = read_text_file(file);
  const ModelConfig config = parse_model_config(text, file.string());
  const std::string shape = file.filename() == "config.json"
                                ? std::filesystem::absolute(file).parent_path().filename().string()
                                : file.stem().string();
  const std::string name = shape + " (random " + std::string(dtype_name(random.dtype)) +
                           " weights, seed " + std::to_string(random.seed) + ")";
  return make_random_model(name, config, text, {random.dtype, random.seed});
}

}  // namespace

std::unique_ptr<Model> load_model(const ModelOptions& model, const RandomModelOptions& random,
                                  int positions) {
  auto m = load_any_model(model, random);
  if (positions > m->config().max_position_embeddings)
    throw EngineError("--prompt-tokens + --gen-tokens exceed the context of " +
                      std::to_string(m->config().max_position_embeddings));
  return m;
}

std::vector<int> fixed_prompt(const ModelConfig& config, int n) {
  std::mt19937 rng(1234);
  std::vector<int> ids(n);
  for (int& id : ids) id = int(rng() % config.vocab_size);
  return ids;
}

}  // namespace moescope::cli
