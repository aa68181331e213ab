#pragma once
// What bench and check run: the checkpoint of --model, or with --random-weights
// (--config, --dtype, --seed) a model of any config.json's shape with seeded random
// weights, made in memory (deepseek-moe-16b without its 33 GB download); and the
// fixed prompt they feed it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "model/dtype.h"
#include "model/model.h"

namespace CLI {
class App;
}

namespace moescope::cli {

struct RandomModelOptions {
  bool random_weights = false;
  std::string config_file;  // empty: the --model directory's config.json
  DType dtype = DType::bf16;
  std::uint64_t seed = 0;
};

void add_random_model_options(CLI::App& command, RandomModelOptions& options);

// The checkpoint of --model, or with --random-weights a model of --config's shape; refused
// when `positions` (prompt + generated tokens) exceed its context.
std::unique_ptr<Model> load_model(const ModelOptions& model, const RandomModelOptions& random,
                                  int positions);

// `n` pseudo-random ids of the model's vocabulary, the same on every run.
std::vector<int> fixed_prompt(const ModelConfig& config, int n);

}  // namespace moescope::cli
