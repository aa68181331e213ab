#pragma once
// Where the model that opens by default lives: the bundled trained model,
// or, where none is bundled, the small random-weight model the tests use.
#include <filesystem>
#include <string>
#include <vector>

namespace moescope {

std::filesystem::path default_model_dir();

// resources/models/<name>: a bundled model by its folder name.
std::filesystem::path bundled_model_dir(const std::string& name);

// The bundled DeepSeekMoE model and its conventional GShard twin, the pair the
// experiments compare by default.
std::vector<std::filesystem::path> bundled_model_pair();

}  // namespace moescope
