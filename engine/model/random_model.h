#pragma once
// A model of any config.json's shape with seeded random weights, made in memory:
// benchmarks and backend comparisons of big shapes (deepseek-moe-16b) without their
// checkpoint download.
#include <cstdint>
#include <memory>
#include <string>

#include "model/config.h"
#include "model/dtype.h"
#include "model/model.h"

namespace moescope {

struct RandomWeights {
  DType dtype = DType::bf16;
  std::uint64_t seed = 0;
  std::uint64_t memory_limit = 0;  // bytes the model may take; 0: this machine's RAM
};

// Every tensor a checkpoint of `config` holds (per-expert layout), bound as Model::load
// binds them. Matrices are approximately normal (a sum of four uniforms) with standard
// deviation 1/sqrt(fan-in), 0.022 at deepseek-moe-16b's hidden 2048, so activations
// keep their scale and the gate's scores spread; biases N(0, 0.02); norms 1. Element i
// of a tensor depends only on the seed, the tensor's name and i: the same bytes on
// every machine and with any number of threads. Throws EngineError, before allocating
// anything, when the weights and a CPU KV cache for the whole context exceed the memory.
std::unique_ptr<Model> make_random_model(const std::string& name, const ModelConfig& config,
                                         const std::string& config_json,
                                         const RandomWeights& weights = {});

}  // namespace moescope
