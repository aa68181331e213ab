#include "model/gguf_writer.h"

#include <unistd.h>

#include <cstring>
#include <fstream>

#include "core/error.h"

namespace moescope {
namespace {

constexpr std::uint64_t alignment = 32;  // GGUF_DEFAULT_ALIGNMENT

std::uint64_t padded(std::uint64_t n) {
  return (n + alignment - 1) / alignment * alignment;
}

std::int64_t elements(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

// Little-endian bytes of the header, in memory until written.
class Bytes {
 public:
  template <typename T>
  void put(T v) {
    const auto at = out_.size();
    out_.resize(at + sizeof v);
    std::memcpy(out_.data() + at, &v, sizeof v);
  }
  void put_string(const std::string& s) {
    put(std::uint64_t(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void put_scalar(GgufType type, const GgufScalar& v) {
    switch (type) {
      case GgufType::uint32:
        return put(std::uint32_t(std::get<std::uint64_t>(v)));
      case GgufType::int32:
        return put(std::int32_t(std::get<std::int64_t>(v)));
      case GgufType::float32:
        return put(float(std::get<double>(v)));
      case GgufType::boolean:
        return put(std::uint8_t(std::get<bool>(v)));
      case GgufType::string:
        return put_string(std::get<std::string>(v));
      default:  // the writer's helpers make only the types above
        throw EngineError("GGUF writer: value type " + std::string(gguf_type_name(type)));
    }
  }
  void put_value(const GgufValue& v) {
    put(std::uint32_t(v.type));
    if (v.type != GgufType::array) return put_scalar(v.type, v.scalar);
    put(std::uint32_t(v.element_type));
    put(std::uint64_t(v.array.size()));
    for (const GgufScalar& e : v.array) put_scalar(v.element_type, e);
  }
  void pad() { out_.resize(padded(out_.size())); }
  const std::vector<std::uint8_t>& bytes() const { return out_; }

 private:
  std::vector<std::uint8_t> out_;
};

GgufValue scalar(GgufType type, GgufScalar v) {
  GgufValue g;
  g.type = type;
  g.scalar = std::move(v);
  return g;
}

template <typename T>
GgufValue array(GgufType element_type, const std::vector<T>& values) {
  GgufValue g;
  g.type = GgufType::array;
  g.element_type = element_type;
  g.array.reserve(values.size());
  for (const T& v : values) g.array.push_back(scalar(element_type, v).scalar);
  return g;
}

}  // namespace

GgufValue gguf_u32(std::uint32_t v) {
  return scalar(GgufType::uint32, std::uint64_t(v));
}
GgufValue gguf_i32(std::int32_t v) {
  return scalar(GgufType::int32, std::int64_t(v));
}
GgufValue gguf_f32(float v) {
  return scalar(GgufType::float32, double(v));
}
GgufValue gguf_bool(bool v) {
  return scalar(GgufType::boolean, v);
}
GgufValue gguf_string(std::string v) {
  return scalar(GgufType::string, std::move(v));
}
GgufValue gguf_strings(std::vector<std::string> v) {
  return array(GgufType::string, v);
}
GgufValue gguf_f32s(const std::vector<float>& v) {
  std::vector<double> wide(v.begin(), v.end());
  return array(GgufType::float32, wide);
}
GgufValue gguf_i32s(const std::vector<std::int32_t>& v) {
  std::vector<std::int64_t> wide(v.begin(), v.end());
  return array(GgufType::int32, wide);
}

GgufWriter::GgufWriter(std::string architecture) {
  add("general.architecture", gguf_string(std::move(architecture)));
}

void GgufWriter::add(std::string key, GgufValue value) {
  metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::add_tensor(std::string name, DType dtype, std::vector<std::int64_t> shape,
                            TensorBytes bytes) {
  tensors_.push_back({std::move(name), dtype, std::move(shape), std::move(bytes)});
}

void GgufWriter::write(const std::filesystem::path& out) const {
  Bytes header;
  header.put(std::uint32_t(0x46554747));  // "GGUF"
  header.put(std::uint32_t(3));
  header.put(std::uint64_t(tensors_.size()));
  header.put(std::uint64_t(metadata_.size()));
  for (const auto& [key, value] : metadata_) {
    header.put_string(key);
    header.put_value(value);
  }
  std::uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    header.put_string(t.name);
    header.put(std::uint32_t(t.shape.size()));
    for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d) header.put(std::uint64_t(*d));
    header.put(ggml_type_id(t.dtype));
    header.put(offset);
    offset += padded(std::uint64_t(storage_bytes(t.dtype, elements(t.shape))));
  }
  header.pad();

  const std::filesystem::path partial =
      out.string() + ".partial-" + std::to_string(long(::getpid()));
  try {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    if (!file) throw EngineError(out.string() + ": cannot be written");
    file.write(reinterpret_cast<const char*>(header.bytes().data()),
               std::streamsize(header.bytes().size()));
    std::vector<std::uint8_t> data;
    for (const Tensor& t : tensors_) {
      data.assign(padded(std::uint64_t(storage_bytes(t.dtype, elements(t.shape)))), 0);
      t.bytes(data.data());
      file.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
    }
    file.close();
    if (!file) throw EngineError(out.string() + ": writing failed (disk full?)");
    std::error_code renamed;
    std::filesystem::rename(partial, out, renamed);
    if (renamed)
      throw EngineError(out.string() + ": cannot be written (" + renamed.message() + ")");
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    throw;
  }
}

}  // namespace moescope
