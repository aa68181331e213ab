#pragma once
// What a path is (absent, a folder, a regular file, a FIFO...), asked without the
// std::filesystem::filesystem_error that std::filesystem::exists and is_directory throw
// for a name too long or a folder that cannot be searched: those are EngineErrors naming
// the path, like every other problem with a file a user gave.
#include <filesystem>
#include <string>
#include <system_error>

#include "core/error.h"

namespace moescope {

inline std::filesystem::file_status path_status(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
    throw EngineError(path.string() + ": " + ec.message());
  return status;
}

inline bool path_exists(const std::filesystem::path& path) {
  return std::filesystem::exists(path_status(path));
}

}  // namespace moescope
