#pragma once
// Storage dtypes of checkpoint tensors and their widening to f32.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace moescope {

enum class DType { f32, f16, bf16 };

std::size_t dtype_size(DType t);
std::string_view dtype_name(DType t);                  // "F32", "F16", "BF16" (safetensors spelling)
std::optional<DType> dtype_from_name(std::string_view name);

inline float bf16_to_f32(std::uint16_t h) {
  std::uint32_t bits = std::uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Branch-free so that the matrix-vector loops vectorise over f16 weights:
// move exponent and mantissa into place and rebias; inf/nan get the f32
// exponent, zero/subnormals (exact in f32: mantissa x 2^-24) are renormalised
// by an f32 subtraction. Both candidates are computed, then one is selected.
inline float f16_to_f32(std::uint16_t h) {
  constexpr std::uint32_t shifted_exponent = 0x7c00u << 13;
  const std::uint32_t magnitude = std::uint32_t(h & 0x7fffu) << 13;
  const std::uint32_t exponent = magnitude & shifted_exponent;
  const std::uint32_t normal =
      magnitude + ((127u - 15u) << 23) + std::uint32_t(exponent == shifted_exponent) * ((128u - 16u) << 23);
  const std::uint32_t subnormal_bits = magnitude + ((127u - 15u + 1u) << 23);
  float subnormal_f;
  std::memcpy(&subnormal_f, &subnormal_bits, sizeof subnormal_f);
  subnormal_f -= 6.103515625e-05f;  // 2^-14
  std::uint32_t subnormal;
  std::memcpy(&subnormal, &subnormal_f, sizeof subnormal);
  const std::uint32_t is_subnormal = 0u - std::uint32_t(exponent == 0);  // all ones or zero
  const std::uint32_t out =
      (subnormal & is_subnormal) | (normal & ~is_subnormal) | (std::uint32_t(h & 0x8000u) << 16);
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

std::uint16_t f32_to_bf16(float f);  // round to nearest even, as torch does
std::uint16_t f32_to_f16(float f);   // round to nearest even

}  // namespace moescope
