#pragma once
// Where the model that opens by default lives: the bundled trained model,
// or, where none is bundled, the small random-weight model the tests use.
#include <filesystem>

namespace moescope {

std::filesystem::path default_model_dir();

}  // namespace moescope
