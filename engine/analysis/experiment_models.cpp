#include "analysis/experiment_models.h"

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

std::vector<ModelUnderTest> under_test(const std::vector<LoadedModel>& models) {
  std::vector<ModelUnderTest> out;
  for (const LoadedModel& m : models) out.push_back(m.under_test());
  return out;
}

}  // namespace moescope
