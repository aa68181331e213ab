#include "wire/npy.h"

#include <cctype>
#include <charconv>
#include <limits>
#include <string_view>

#include "core/error.h"

namespace moescope {
namespace {

constexpr std::string_view magic = "\x93NUMPY";

// The header is a Python dict literal written by NumPy itself, e.g.
// {'descr': '<i2', 'fortran_order': False, 'shape': (3, 4, 2), }. Values are read
// by key, each in the one form NumPy writes.
std::string_view value_after(std::string_view header, std::string_view key,
                             const std::string& field) {
  const std::string quoted = "'" + std::string(key) + "':";
  const auto at = header.find(quoted);
  if (at == std::string_view::npos)
    throw EngineError(field + ": .npy header has no '" + std::string(key) + "'");
  std::string_view rest = header.substr(at + quoted.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

std::vector<std::int64_t> read_shape(std::string_view header, const std::string& field) {
  std::string_view rest = value_after(header, "shape", field);
  const auto close = rest.find(')');
  if (rest.empty() || rest.front() != '(' || close == std::string_view::npos)
    throw EngineError(field + ": .npy shape is not a tuple");
  std::string_view tuple = rest.substr(1, close - 1);
  std::vector<std::int64_t> shape;
  while (!tuple.empty()) {
    while (!tuple.empty() && (tuple.front() == ' ' || tuple.front() == ',')) tuple.remove_prefix(1);
    if (tuple.empty()) break;
    std::int64_t n = -1;
    const auto [end, error] = std::from_chars(tuple.data(), tuple.data() + tuple.size(), n);
    if (error != std::errc() || n < 0)
      throw EngineError(field + ": .npy shape holds something other than sizes");
    shape.push_back(n);
    tuple.remove_prefix(static_cast<std::size_t>(end - tuple.data()));
  }
  return shape;
}

}  // namespace

NpyIntArray read_npy_ints(std::span<const std::uint8_t> bytes, const std::string& field) {
  const std::string_view data(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!data.starts_with(magic) || data.size() < 10)
    throw EngineError(field + ": not a .npy array (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(data[6]);
  std::size_t header_length = 0, header_start = 0;
  if (major == 1) {
    header_length = std::size_t(static_cast<unsigned char>(data[8])) |
                    std::size_t(static_cast<unsigned char>(data[9])) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12) throw EngineError(field + ": .npy header truncated");
    for (int i = 0; i < 4; ++i)
      header_length |= std::size_t(static_cast<unsigned char>(data[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    throw EngineError(field + ": .npy version " + std::to_string(major) + " is not supported");
  }
  if (header_length > data.size() - header_start)
    throw EngineError(field + ": .npy header truncated");
  const std::string_view header = data.substr(header_start, header_length);

  const std::string_view descr = value_after(header, "descr", field);
  if (descr.size() < 5 || descr[0] != '\'' || descr[4] != '\'')
    throw EngineError(field + ": .npy dtype is not a simple one");
  const char order = descr[1], kind = descr[2], width_char = descr[3];
  const int width = width_char - '0';
  const bool integer = kind == 'i' || kind == 'u';
  const bool known_width = width == 1 || width == 2 || width == 4 || width == 8;
  const bool little = order == '<' || order == '|' || (order == '=' && width == 1);
  if (!integer || !known_width || !little)
    throw EngineError(field + ": .npy dtype " + std::string(descr.substr(1, 3)) +
                      " is not a little-endian integer type (expert ids are integers)");
  if (!value_after(header, "fortran_order", field).starts_with("False"))
    throw EngineError(field + ": .npy array in Fortran order; expected C order");

  NpyIntArray out;
  out.shape = read_shape(header, field);
  std::size_t count = 1;
  for (std::int64_t n : out.shape) {
    if (n != 0 && count > std::numeric_limits<std::size_t>::max() / std::size_t(n) / 8)
      throw EngineError(field + ": .npy shape too large");
    count *= std::size_t(n);
  }
  const std::string_view payload = data.substr(header_start + header_length);
  if (payload.size() != count * std::size_t(width))
    throw EngineError(field + ": .npy payload of " + std::to_string(payload.size()) +
                      " bytes, expected " + std::to_string(count * std::size_t(width)) +
                      " for its shape (truncated?)");
  out.values.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t raw = 0;
    for (int b = 0; b < width; ++b)
      raw |= std::uint64_t(static_cast<unsigned char>(payload[i * width + b])) << (8 * b);
    std::int64_t value = static_cast<std::int64_t>(raw);
    if (kind == 'i' && width < 8 && (raw >> (8 * width - 1)) & 1)  // sign-extend
      value = static_cast<std::int64_t>(raw | ~std::uint64_t(0) << (8 * width));
    out.values.push_back(value);
  }
  return out;
}

std::vector<std::uint8_t> write_npy_int16(const std::vector<std::int64_t>& shape,
                                          const std::vector<std::int64_t>& values) {
  std::string tuple;
  for (std::int64_t n : shape) tuple += std::to_string(n) + ", ";
  if (shape.size() > 1)
    tuple.resize(tuple.size() - 2);
  else if (shape.size() == 1)
    tuple.pop_back();  // (5,) as Python writes a 1-tuple
  std::string header = "{'descr': '<i2', 'fortran_order': False, 'shape': (" + tuple + "), }";
  // NumPy pads the header with spaces so that the data starts at a multiple of 64.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<std::uint8_t> out(magic.begin(), magic.end());
  out.push_back(1);
  out.push_back(0);
  out.push_back(std::uint8_t(header.size() & 0xff));
  out.push_back(std::uint8_t(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  for (std::int64_t v : values) {
    if (v < std::numeric_limits<std::int16_t>::min() ||
        v > std::numeric_limits<std::int16_t>::max())
      throw EngineError(".npy int16: value " + std::to_string(v) + " does not fit");
    const auto bits = static_cast<std::uint16_t>(static_cast<std::int16_t>(v));
    out.push_back(std::uint8_t(bits & 0xff));
    out.push_back(std::uint8_t(bits >> 8));
  }
  return out;
}

}  // namespace moescope
