#pragma once
// A whole file read into memory, for the files moescope parses (config.json, tokenizer
// and generation configs, snapshots, text sets): every problem is an EngineError naming
// the file, and nothing blocks on a FIFO or a device given as a file.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <string>

#include "core/error.h"
#include "core/path_status.h"

namespace moescope {

inline std::string read_text_file(const std::filesystem::path& path) {
  const std::filesystem::file_status status = path_status(path);
  if (!std::filesystem::exists(status)) throw EngineError(path.string() + ": not found");
  if (!std::filesystem::is_regular_file(status))
    throw EngineError(path.string() + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EngineError(path.string() + ": cannot be read: " + std::strerror(errno));
  try {
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw EngineError(path.string() + ": read failed");
    return std::move(text).str();
  } catch (const std::bad_alloc&) {
    throw EngineError(path.string() + ": too large to read into memory");
  }
}

}  // namespace moescope
