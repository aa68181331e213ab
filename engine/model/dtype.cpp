#include "model/dtype.h"

#include <cassert>
#include <cmath>

namespace moescope {

BlockLayout block_layout(DType t) {
  switch (t) {
    case DType::f32:
      return {1, 4};
    case DType::f16:
    case DType::bf16:
      return {1, 2};
    case DType::q8_0:
      return {32, 34};  // f16 scale, 32 x int8
    case DType::q4_0:
      return {32, 18};  // f16 scale, 32 x 4 bits
    case DType::q4_k:
      return {256, 144};  // f16 scale and min, 12 bytes of 6-bit sub-scales, 256 x 4 bits
    case DType::q6_k:
      return {256, 210};  // 256 x 6 bits, 16 x int8 sub-scales, f16 scale
  }
  return {1, 0};
}

bool is_quantized(DType t) {
  return block_layout(t).elements > 1;
}

std::int64_t storage_bytes(DType t, std::int64_t elements) {
  const BlockLayout b = block_layout(t);
  assert(elements % b.elements == 0);
  return elements / b.elements * b.bytes;
}

std::size_t dtype_size(DType t) {
  assert(!is_quantized(t));
  return std::size_t(block_layout(t).bytes);
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "F32";
    case DType::f16:
      return "F16";
    case DType::bf16:
      return "BF16";
    case DType::q8_0:
      return "Q8_0";
    case DType::q4_0:
      return "Q4_0";
    case DType::q4_k:
      return "Q4_K";
    case DType::q6_k:
      return "Q6_K";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    if (dtype_name(t) == name) return t;
  return std::nullopt;
}

namespace {

std::uint32_t bits_of(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

}  // namespace

std::uint16_t f32_to_bf16(float f) {
  const std::uint32_t b = bits_of(f);
  if (std::isnan(f)) return std::uint16_t((b >> 16) | 0x0040);  // keep it a (quiet) nan
  // Adding 0x7fff plus the lowest kept bit rounds half to even; overflow carries into inf.
  return std::uint16_t((b + 0x7fff + ((b >> 16) & 1)) >> 16);
}

std::uint16_t f32_to_f16(float f) {
  const std::uint32_t b = bits_of(f);
  const std::uint16_t sign = (b >> 16) & 0x8000;
  const std::uint32_t magnitude = b & 0x7fffffff;
  if (magnitude > 0x7f800000) return sign | 0x7e00 | ((magnitude >> 13) & 0x3ff);  // quiet nan
  if (magnitude >= 0x477ff000) return sign | 0x7c00;  // >= 65520 rounds to inf
  if (magnitude >= 0x38800000) {                      // normal in f16: >= 2^-14
    // Rebias the exponent (127 -> 15) and round the 13 dropped bits half to even.
    const std::uint32_t rounded = (magnitude + 0xfff + ((magnitude >> 13) & 1)) >> 13;
    return sign | std::uint16_t(rounded - ((127 - 15) << 10));
  }
  // Subnormal in f16: the value in units of 2^-24 is mantissa >> shift, rounded half to even.
  const int shift = 126 - int(magnitude >> 23);
  if (shift > 24) return sign;  // below 2^-25: rounds to zero
  const std::uint32_t mantissa = (magnitude & 0x7fffff) | 0x800000;
  std::uint32_t units = mantissa >> shift;
  const std::uint32_t rest = mantissa & ((1u << shift) - 1);
  const std::uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (units & 1))) ++units;  // may carry into the smallest normal
  return sign | std::uint16_t(units);
}

}  // namespace moescope
