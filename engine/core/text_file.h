#pragma once
// A whole file read into memory, for the files moescope parses (config.json, tokenizer
// and generation configs, snapshots, text sets): every problem is an EngineError naming
// the file, and nothing blocks on a FIFO or a device given as a file.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
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
  // Appended chunk by chunk, so running out of memory is a bad_alloc here (a stream's
  // operator<< would swallow it and return the file cut short).
  std::string text;
  try {
    char chunk[1 << 16];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) text.append(chunk, in.gcount());
  } catch (const std::bad_alloc&) {
    throw EngineError(path.string() + ": too large to read into memory");
  }
  if (in.bad()) throw EngineError(path.string() + ": read failed");
  return text;
}

}  // namespace moescope
