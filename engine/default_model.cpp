#include "default_model.h"

namespace moescope {

std::filesystem::path default_model_dir() {
  const std::filesystem::path bundled =
      std::filesystem::path(MOESCOPE_RESOURCES_DIR) / "models" / "deepseekmoe-tiny";
  if (std::filesystem::exists(bundled / "config.json")) return bundled;
  return std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32";
}

}  // namespace moescope
