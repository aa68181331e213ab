#pragma once
// A whole regular file mapped read-only: the bytes of safetensors and GGUF checkpoints,
// which stay in the map (the tensor views point into it).
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace moescope {

class MappedFile {
 public:
  // Throws EngineError naming the file when it cannot be opened, is not a regular file
  // (a FIFO planted under its name must not block the open), or cannot be mapped.
  // An empty file maps to no bytes.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return static_cast<const std::uint8_t*>(map_); }
  std::size_t size() const { return size_; }

 private:
  void* map_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace moescope
