#pragma once
// Storage dtypes of checkpoint tensors and their widening to f32: floats (safetensors,
// GGUF) and llama.cpp's quantized block formats (GGUF; model/quant_blocks.h).
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace moescope {

// q8_0, q4_0: blocks of 32 weights; q4_k, q6_k: super-blocks of 256 (ggml's layouts).
enum class DType { f32, f16, bf16, q8_0, q4_0, q4_k, q6_k };

// The unit a dtype is stored in: one element for floats, one block for quantized types.
// A row of a matrix holds a whole number of blocks.
struct BlockLayout {
  int elements;
  int bytes;
};
BlockLayout block_layout(DType t);
bool is_quantized(DType t);
// Bytes of `elements` consecutive weights; `elements` a multiple of the block's.
std::int64_t storage_bytes(DType t, std::int64_t elements);

std::size_t dtype_size(DType t);  // bytes of one element: float dtypes only
std::string_view dtype_name(
    DType t);  // "F32", "F16", "BF16" (safetensors), "Q8_0", "Q4_K"... (ggml)
std::optional<DType> dtype_from_name(std::string_view name);  // the float dtypes (safetensors)

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
  const std::uint32_t normal = magnitude + ((127u - 15u) << 23) +
                               std::uint32_t(exponent == shifted_exponent) * ((128u - 16u) << 23);
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
