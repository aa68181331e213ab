#pragma once
// Writes a GGUF file (version 3, llama.cpp's layout, as gguf-py's GGUFWriter does):
// metadata in the order added, tensor infos, then each tensor's bytes at 32-byte
// alignment. The bytes are streamed, one tensor at a time, and the file appears under
// its name only when whole (written beside it, then renamed).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "model/dtype.h"
#include "model/gguf.h"

namespace moescope {

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

GgufValue gguf_u32(std::uint32_t v);
GgufValue gguf_i32(std::int32_t v);
GgufValue gguf_f32(float v);
GgufValue gguf_bool(bool v);
GgufValue gguf_string(std::string v);
GgufValue gguf_strings(std::vector<std::string> v);
GgufValue gguf_f32s(const std::vector<float>& v);
GgufValue gguf_i32s(const std::vector<std::int32_t>& v);

class GgufWriter {
 public:
  // Writes exactly the tensor's storage bytes into `out` (a buffer of that size).
  using TensorBytes = std::function<void(std::uint8_t* out)>;

  explicit GgufWriter(std::string architecture);  // general.architecture, first

  void add(std::string key, GgufValue value);
  // shape outermost first, as TensorView spells it; rows whole blocks of `dtype`.
  void add_tensor(std::string name, DType dtype, std::vector<std::int64_t> shape,
                  TensorBytes bytes);

  // Throws EngineError naming `out` when it cannot be written; a failed write leaves
  // nothing behind.
  void write(const std::filesystem::path& out) const;

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    TensorBytes bytes;
  };
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
};

}  // namespace moescope
