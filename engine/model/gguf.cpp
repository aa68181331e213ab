#include "model/gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <tuple>

#include "core/error.h"

namespace moescope {
namespace fs = std::filesystem;

namespace {

// Far above any real key or tensor name (llama.cpp allows 63 bytes for names), low
// enough to keep messages readable.
constexpr std::uint64_t longest_name = 1024;
constexpr int most_dims = 4;  // GGML_MAX_DIMS

// ggml's tensor types by number: the ones this engine reads, and the names of the
// others, so that a refusal names what the file holds.
struct GgmlType {
  std::uint32_t id;
  const char* name;
  std::optional<DType> dtype;
};
constexpr GgmlType ggml_types[] = {
    {0, "F32", DType::f32},
    {1, "F16", DType::f16},
    {2, "Q4_0", DType::q4_0},
    {3, "Q4_1", {}},
    {6, "Q5_0", {}},
    {7, "Q5_1", {}},
    {8, "Q8_0", DType::q8_0},
    {9, "Q8_1", {}},
    {10, "Q2_K", {}},
    {11, "Q3_K", {}},
    {12, "Q4_K", DType::q4_k},
    {13, "Q5_K", {}},
    {14, "Q6_K", DType::q6_k},
    {15, "Q8_K", {}},
    {16, "IQ2_XXS", {}},
    {17, "IQ2_XS", {}},
    {18, "IQ3_XXS", {}},
    {19, "IQ1_S", {}},
    {20, "IQ4_NL", {}},
    {21, "IQ3_S", {}},
    {22, "IQ2_S", {}},
    {23, "IQ4_XS", {}},
    {24, "I8", {}},
    {25, "I16", {}},
    {26, "I32", {}},
    {27, "I64", {}},
    {28, "F64", {}},
    {29, "IQ1_M", {}},
    {30, "BF16", DType::bf16},
    {34, "TQ1_0", {}},
    {35, "TQ2_0", {}},
    {39, "MXFP4", {}},
};

std::string supported_types() {
  std::string s;
  for (const GgmlType& t : ggml_types)
    if (t.dtype) s += std::string(s.empty() ? "" : ", ") + t.name;
  return s;
}

}  // namespace

std::uint32_t ggml_type_id(DType t) {
  return std::find_if(std::begin(ggml_types), std::end(ggml_types),
                      [t](const GgmlType& g) { return g.dtype == t; })
      ->id;
}

namespace {

// Bounds-checked little-endian reads from the mapped bytes; every failure names the file
// and what was being read.
class Reader {
 public:
  Reader(const fs::path& path, const std::uint8_t* data, std::size_t size)
      : path_(path), data_(data), size_(size) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw EngineError(path_.string() + ": " + problem);
  }

  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return size_ - pos_; }

  template <typename T>
  T read(const std::string& what) {
    if (remaining() < sizeof(T))
      fail(what + ": the file ends at byte " + std::to_string(size_) + ", inside it");
    T v;
    std::memcpy(&v, data_ + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }

  std::string read_string(const std::string& what, std::uint64_t longest) {
    const auto length = read<std::uint64_t>(what + " length");
    if (length > remaining())
      fail(what + ": length " + std::to_string(length) + " runs past the end of the file");
    if (length > longest)
      fail(what + ": length " + std::to_string(length) + " is longer than " +
           std::to_string(longest) + " bytes");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), std::size_t(length));
    pos_ += std::size_t(length);
    return s;
  }

  // A count of items of at least `min_bytes` each that must still fit in the file.
  std::uint64_t read_count(const std::string& what, std::uint64_t min_bytes) {
    const auto n = read<std::uint64_t>(what);
    if (n > remaining() / min_bytes)
      fail(what + " " + std::to_string(n) + " is more than the rest of the file (" +
           std::to_string(remaining()) + " bytes) can hold");
    return n;
  }

 private:
  const fs::path& path_;
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

std::optional<GgufType> value_type(std::uint32_t id) {
  if (id > std::uint32_t(GgufType::float64)) return std::nullopt;
  return GgufType(id);
}

// Bytes the smallest value of a type takes in the file (a string: its length).
std::uint64_t smallest_bytes(GgufType t) {
  switch (t) {
    case GgufType::uint8:
    case GgufType::int8:
    case GgufType::boolean:
      return 1;
    case GgufType::uint16:
    case GgufType::int16:
      return 2;
    case GgufType::uint32:
    case GgufType::int32:
    case GgufType::float32:
      return 4;
    case GgufType::string:
    case GgufType::uint64:
    case GgufType::int64:
    case GgufType::float64:
      return 8;
    case GgufType::array:
      return 12;  // element type and count
  }
  return 1;
}

GgufScalar read_scalar(Reader& in, GgufType t, const std::string& what) {
  switch (t) {
    case GgufType::uint8:
      return std::uint64_t(in.read<std::uint8_t>(what));
    case GgufType::int8:
      return std::int64_t(in.read<std::int8_t>(what));
    case GgufType::uint16:
      return std::uint64_t(in.read<std::uint16_t>(what));
    case GgufType::int16:
      return std::int64_t(in.read<std::int16_t>(what));
    case GgufType::uint32:
      return std::uint64_t(in.read<std::uint32_t>(what));
    case GgufType::int32:
      return std::int64_t(in.read<std::int32_t>(what));
    case GgufType::float32:
      return double(in.read<float>(what));
    case GgufType::boolean: {
      const auto b = in.read<std::uint8_t>(what);
      if (b > 1) in.fail(what + ": boolean byte " + std::to_string(b) + " is neither 0 nor 1");
      return b == 1;
    }
    case GgufType::string:
      return in.read_string(what, std::numeric_limits<std::uint64_t>::max());
    case GgufType::uint64:
      return in.read<std::uint64_t>(what);
    case GgufType::int64:
      return in.read<std::int64_t>(what);
    case GgufType::float64:
      return in.read<double>(what);
    case GgufType::array:
      break;
  }
  in.fail(what + ": an array inside an array is not supported");
}

GgufValue read_value(Reader& in, const std::string& key) {
  const std::string what = "metadata '" + key + "'";
  const auto id = in.read<std::uint32_t>(what + " type");
  const auto type = value_type(id);
  if (!type) in.fail(what + ": unknown value type " + std::to_string(id));
  GgufValue v;
  v.type = *type;
  if (*type != GgufType::array) {
    v.scalar = read_scalar(in, *type, what);
    return v;
  }
  const auto element_id = in.read<std::uint32_t>(what + " element type");
  const auto element = value_type(element_id);
  if (!element) in.fail(what + ": unknown array element type " + std::to_string(element_id));
  if (*element == GgufType::array) in.fail(what + ": an array of arrays is not supported");
  v.element_type = *element;
  const std::uint64_t n = in.read_count(what + " element count", smallest_bytes(*element));
  v.array.reserve(std::size_t(n));
  for (std::uint64_t i = 0; i < n; ++i)
    v.array.push_back(read_scalar(in, *element, what + " element " + std::to_string(i)));
  return v;
}

struct TensorInfo {
  TensorView view;
  std::uint64_t offset, bytes;  // within the data section
};

TensorInfo read_tensor_info(Reader& in, std::uint64_t index) {
  const std::string name =
      in.read_string("tensor " + std::to_string(index) + " name", longest_name);
  const std::string what = "tensor '" + name + "'";
  const auto n_dims = in.read<std::uint32_t>(what + " dimension count");
  if (n_dims == 0 || n_dims > most_dims)
    in.fail(what + ": " + std::to_string(n_dims) + " dimensions (1 to " +
            std::to_string(most_dims) + " supported)");
  std::vector<std::int64_t> ne;  // innermost first
  std::uint64_t numel = 1;
  for (std::uint32_t d = 0; d < n_dims; ++d) {
    const auto n = in.read<std::uint64_t>(what + " dimension " + std::to_string(d));
    if (n == 0) in.fail(what + ": dimension " + std::to_string(d) + " is 0");
    if (numel > std::uint64_t(std::numeric_limits<std::int64_t>::max()) / n)
      in.fail(what + ": the element count overflows");
    numel *= n;
    ne.push_back(std::int64_t(n));
  }
  const auto type_id = in.read<std::uint32_t>(what + " type");
  const auto type = std::find_if(std::begin(ggml_types), std::end(ggml_types),
                                 [&](const GgmlType& t) { return t.id == type_id; });
  if (type == std::end(ggml_types))
    in.fail(what + ": unknown ggml type " + std::to_string(type_id));
  if (!type->dtype)
    in.fail(what + ": ggml type " + type->name +
            " is not supported (supported: " + supported_types() + ")");
  const BlockLayout block = block_layout(*type->dtype);
  if (ne[0] % block.elements != 0)
    in.fail(what + ": rows of " + std::to_string(ne[0]) + " elements are not whole " + type->name +
            " blocks of " + std::to_string(block.elements));
  if (numel / block.elements >
      std::uint64_t(std::numeric_limits<std::int64_t>::max()) / block.bytes)
    in.fail(what + ": the byte size overflows");
  TensorInfo t;
  t.view.name = name;
  t.view.dtype = *type->dtype;
  t.view.shape.assign(ne.rbegin(), ne.rend());
  t.offset = in.read<std::uint64_t>(what + " data offset");
  t.bytes = numel / block.elements * block.bytes;
  return t;
}

std::uint64_t alignment_of(const Reader& in, const std::map<std::string, GgufValue>& metadata) {
  const auto it = metadata.find("general.alignment");
  if (it == metadata.end()) return 32;  // GGUF_DEFAULT_ALIGNMENT
  const std::uint64_t* a = std::get_if<std::uint64_t>(&it->second.scalar);
  if (it->second.type != GgufType::uint32 || !a)
    in.fail("metadata 'general.alignment' must be a uint32, not " +
            std::string(gguf_type_name(it->second.type)));
  if (!std::has_single_bit(*a))
    in.fail("metadata 'general.alignment' " + std::to_string(*a) + " is not a power of two");
  return *a;
}

// Every tensor's bytes inside the data section, aligned, none overlapping another's.
void check_data(const Reader& in, std::vector<TensorInfo>& infos, std::uint64_t alignment,
                const std::uint8_t* data, std::uint64_t data_size) {
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> ranges;
  for (TensorInfo& t : infos) {
    const std::string what = "tensor '" + t.view.name + "' data offset " + std::to_string(t.offset);
    if (t.offset % alignment != 0)
      in.fail(what + " is not a multiple of the alignment " + std::to_string(alignment));
    if (t.offset > data_size || t.bytes > data_size - t.offset)
      in.fail(what + ": its " + std::to_string(t.bytes) + " bytes run past the data section (" +
              std::to_string(data_size) + " bytes)");
    t.view.data = data + t.offset;
    // An alignment below the element's (1 or 2) would make typed reads undefined.
    const std::uintptr_t natural = is_quantized(t.view.dtype) ? 2 : dtype_size(t.view.dtype);
    if (reinterpret_cast<std::uintptr_t>(t.view.data) % natural != 0)
      in.fail(what + " is not aligned for " + std::string(dtype_name(t.view.dtype)));
    ranges.emplace_back(t.offset, t.offset + t.bytes, t.view.name);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (std::get<0>(ranges[i]) < std::get<1>(ranges[i - 1]))
      in.fail("tensor '" + std::get<2>(ranges[i]) + "' data overlaps tensor '" +
              std::get<2>(ranges[i - 1]) + "'");
}

}  // namespace

std::string_view gguf_type_name(GgufType t) {
  constexpr std::string_view names[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                        "int32",  "float32", "bool",   "string", "array",
                                        "uint64", "int64",   "float64"};
  return names[std::size_t(t)];
}

GgufFile::GgufFile(const fs::path& path) : path_(path), map_(path) {
  Reader in(path, map_.data(), map_.size());
  if (map_.size() < 4 || std::memcmp(map_.data(), "GGUF", 4) != 0)
    in.fail("not a GGUF file (it does not start with \"GGUF\")");
  in.read<std::uint32_t>("magic");
  version_ = in.read<std::uint32_t>("version");
  if (version_ != 2 && version_ != 3)
    in.fail("GGUF version " + std::to_string(version_) + " is not supported (2 and 3 are)");
  const std::uint64_t n_tensors = in.read_count("tensor count", 8 + 4 + 8 + 4 + 8);
  const std::uint64_t n_kv = in.read_count("metadata count", 8 + 4 + 1);
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    std::string key = in.read_string("metadata key " + std::to_string(i), longest_name);
    GgufValue value = read_value(in, key);
    if (!metadata_.emplace(key, std::move(value)).second)
      in.fail("metadata '" + key + "' is given twice");
  }
  std::vector<TensorInfo> infos;
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    infos.push_back(read_tensor_info(in, i));
    if (tensors_.count(infos.back().view.name))
      in.fail("tensor '" + infos.back().view.name + "' is given twice");
    tensors_.emplace(infos.back().view.name, TensorView{});
  }
  const std::uint64_t alignment = alignment_of(in, metadata_);
  const std::uint64_t data_start = (in.position() + alignment - 1) / alignment * alignment;
  if (data_start > map_.size() && !infos.empty())
    in.fail("the data section starts at byte " + std::to_string(data_start) +
            ", past the end of the file");
  const std::uint64_t data_size = data_start > map_.size() ? 0 : map_.size() - data_start;
  check_data(in, infos, alignment, map_.data() + std::min<std::uint64_t>(data_start, map_.size()),
             data_size);
  for (TensorInfo& t : infos) tensors_[t.view.name] = std::move(t.view);
}

const GgufValue* GgufFile::find(const std::string& key) const {
  const auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

}  // namespace moescope
