#include "model/default_model.h"

#include "core/path_status.h"
namespace moescope {

std::filesystem::path default_model_dir() {
  const std::filesystem::path bundled =
      std::filesystem::path(MOESCOPE_RESOURCES_DIR) / "models" / "deepseekmoe-tiny";
  if (path_exists(bundled / "config.json")) return bundled;
  return std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32";
}

std::filesystem::path bundled_model_dir(const std::string& name) {
  return std::filesystem::path(MOESCOPE_RESOURCES_DIR) / "models" / name;
}

std::vector<std::filesystem::path> bundled_model_pair() {
  return {bundled_model_dir("deepseekmoe-tiny"), bundled_model_dir("gshard-tiny")};
}

}  // namespace moescope
