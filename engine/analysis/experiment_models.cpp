#include "analysis/experiment_models.h"

#include "model/default_model.h"

namespace moescope {

std::vector<LoadedModel> load_models(const std::vector<std::filesystem::path>& dirs,
                                     BackendChoice choice) {
  std::vector<LoadedModel> out;
  for (const auto& dir : dirs) {
    LoadedModel m;
    m.model = Model::load(dir);
    m.backend = make_backend(*m.model, choice);
    m.tokenizer = load_tokenizer(dir);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::filesystem::path> default_models(const std::string& experiment) {
  for (const ExperimentInfo& info : experiment_catalogue()) {
    if (info.name != experiment) continue;
    if (info.bundled_models.empty()) return bundled_model_pair();
    std::vector<std::filesystem::path> dirs;
    for (const std::string& name : info.bundled_models) dirs.push_back(bundled_model_dir(name));
    return dirs;
  }
  throw EngineError("unknown experiment \"" + experiment + "\"");
}

std::vector<ModelUnderTest> under_test(const std::vector<LoadedModel>& models) {
  std::vector<ModelUnderTest> out;
  for (const LoadedModel& m : models) out.push_back(m.under_test());
  return out;
}

}  // namespace moescope
