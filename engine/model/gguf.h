#pragma once
// GGUF files (llama.cpp's checkpoints, versions 2 and 3), memory-mapped: the metadata
// key-value pairs, and validated views of the tensors, which stay in the map.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "model/mapped_file.h"
#include "model/tensor_view.h"

namespace moescope {

// GGUF's metadata value types, by their numbers in the file.
enum class GgufType : std::uint32_t {
  uint8 = 0,
  int8 = 1,
  uint16 = 2,
  int16 = 3,
  uint32 = 4,
  int32 = 5,
  float32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  uint64 = 10,
  int64 = 11,
  float64 = 12,
};
std::string_view gguf_type_name(GgufType t);  // "uint32", "string", ...

// ggml's number of a tensor type (F32 0, F16 1, Q4_0 2, Q8_0 8, ...), as tensor infos store it.
std::uint32_t ggml_type_id(DType t);

// Unsigned integers widen to uint64, signed ones to int64, floats to double.
using GgufScalar = std::variant<std::uint64_t, std::int64_t, double, bool, std::string>;

struct GgufValue {
  GgufType type = GgufType::uint8;          // GgufType::array for arrays
  GgufType element_type = GgufType::uint8;  // arrays: the type of every element
  GgufScalar scalar;                        // not arrays
  std::vector<GgufScalar> array;            // arrays (of scalars; nested arrays are refused)
};

// One mapped .gguf file. Throws EngineError naming the file and the field or tensor on:
// a wrong magic, a version other than 2 or 3, counts or string lengths beyond the file,
// unknown value types, nested arrays, a key or tensor name given twice, a
// general.alignment that is not a power of two, more than 4 dimensions, a dimension of
// 0 or a shape whose element count overflows, a ggml type this engine does not read
// (named), a row that is not a whole number of blocks, tensor data out of the file,
// unaligned or overlapping another tensor's.
class GgufFile {
 public:
  explicit GgufFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  std::uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;
  // Shapes outermost first (GGUF's ne reversed), as safetensors and PyTorch spell them.
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  std::size_t mapped_bytes() const { return map_.size(); }

 private:
  std::filesystem::path path_;
  MappedFile map_;
  std::uint32_t version_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace moescope
