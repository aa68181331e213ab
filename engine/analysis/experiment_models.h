#pragma once
// The models an experiment runs on, each loaded with its backend and tokenizer.
#include <filesystem>
#include <memory>
#include <vector>

#include "analysis/experiments.h"
#include "backends/backend_factory.h"

namespace moescope {

struct LoadedModel {
  std::unique_ptr<Model> model;
  BackendSelection backend;
  std::unique_ptr<Tokenizer> tokenizer;

  ModelUnderTest under_test() const {
    return {model->name(), *backend.backend, *tokenizer, model->config()};
  }
};

// Throws EngineError naming the model directory that failed to load.
std::vector<LoadedModel> load_models(const std::vector<std::filesystem::path>& dirs,
                                     BackendChoice choice);

std::vector<ModelUnderTest> under_test(const std::vector<LoadedModel>& models);

// The bundled models `experiment` runs on unless told (ExperimentInfo::bundled_models,
// else the bundled pair). Throws EngineError for an unknown experiment.
std::vector<std::filesystem::path> default_models(const std::string& experiment);

}  // namespace moescope
