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

float f16_to_f32(std::uint16_t h);
std::uint16_t f32_to_bf16(float f);  // round to nearest even, as torch does
std::uint16_t f32_to_f16(float f);   // round to nearest even

}  // namespace moescope
