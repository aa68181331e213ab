#pragma once
// What the harnesses that read files share: a private folder per fuzzing process and a
// helper that writes an input into it.
#include <stdlib.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace moescope::fuzz {

// A new private folder /tmp/<name>.XXXXXX, made by mkdtemp: parallel fuzzing jobs never
// share one, and a leftover of an earlier run with the same name cannot be taken for it.
// Call it once per process.
inline std::filesystem::path scratch_dir(const std::string& name) {
  std::string pattern = (std::filesystem::temp_directory_path() / (name + ".XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    throw std::filesystem::filesystem_error("mkdtemp", pattern,
                                            std::error_code(errno, std::generic_category()));
  return pattern;
}

inline void write_file(const std::filesystem::path& path, const void* data, std::size_t size) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(static_cast<const char*>(data), std::streamsize(size));
}

}  // namespace moescope::fuzz
