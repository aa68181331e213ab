#pragma once
// Exports never leave a half-written file: the text goes to a temporary file
// beside the target, which then replaces it in one rename.
#include <filesystem>
#include <string>

namespace moescope {

// Throws EngineError naming the path when it cannot be written.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace moescope
