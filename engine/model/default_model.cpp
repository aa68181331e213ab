#include "model/default_model.h"

#include "core/path_status.h"
namespace moescope {

std::filesystem::path default_model_dir() {
  const std::filesystem::path bundled =
      std::filesystem::path(MOESCOPE_RESOURCES_DIR) / "models" / "deepseekmoe-tiny";
  if (path_exists(bundled / "config.json")) return bundled;
  return std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32";
}

std::vector<std::filesystem::path> bundled_model_pair() {
  const std::filesystem::path models = std::filesystem::path(MOESCOPE_RESOURCES_DIR) / "models";
  return {models / "deepseekmoe-tiny", models / "gshard-tiny"};
}

}  // namespace moescope
