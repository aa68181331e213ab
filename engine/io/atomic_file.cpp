#include "io/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "core/error.h"

namespace moescope {

namespace fs = std::filesystem;

namespace {

// Temp file beside the target, so the final rename never crosses file systems.
fs::path temp_path_beside(const fs::path& path) {
  std::random_device random;
  char suffix[20];
  std::snprintf(suffix, sizeof suffix, "%08x%08x", random(), random());
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "." + string.
  std::string name = ".";
  name += path.filename().string();
  name += ".tmp-";
  name += suffix;
  return path.parent_path() / name;
}

}  // namespace

void write_file_atomically(const fs::path& path, const std::string& text) {
  const std::string name = path.string();
  if (!path.has_filename()) throw EngineError(name + ": not a file path");
  const fs::path temp = temp_path_beside(path);
  try {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw EngineError(name +
                        ": cannot create a temporary file beside it: " + std::strerror(errno));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    out.close();
    if (out.fail()) throw EngineError(name + ": writing the temporary file failed");
    std::error_code error;
    fs::rename(temp, path, error);
    if (error)
      throw EngineError(name + ": cannot replace it with the new file: " + error.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
}

}  // namespace moescope
