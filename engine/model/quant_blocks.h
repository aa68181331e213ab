#pragma once
// llama.cpp's quantized weight blocks (ggml-common.h layouts, as GGUF files store them)
// and their dequantization to f32. Inline: the CPU matrix loops dequantize one block
// at a time into registers. Every value comes out exactly as gguf-py's
// gguf.quants.dequantize computes it (tests/engine/model/test_quant_blocks.cpp).
#include <cstdint>
#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "model/dtype.h"

namespace moescope {

// 32 weights: d * q, q in [-128, 127].
struct BlockQ8_0 {
  static constexpr DType dtype = DType::q8_0;
  static constexpr int elements = 32;
  std::uint16_t d;  // f16 scale
  std::int8_t qs[32];
};

// 32 weights: d * (q - 8), q in [0, 15]; byte j holds weight j (low nibble) and j + 16 (high).
struct BlockQ4_0 {
  static constexpr DType dtype = DType::q4_0;
  static constexpr int elements = 32;
  std::uint16_t d;  // f16 scale
  std::uint8_t qs[16];
};

// 256 weights in 8 sub-blocks of 32: d * sc[s] * q - dmin * m[s], with 6-bit sc and m
// packed into 12 bytes. Sub-blocks 2i and 2i + 1 share bytes 32i..32i + 31 of qs (low and
// high nibbles).
struct BlockQ4_K {
  static constexpr DType dtype = DType::q4_k;
  static constexpr int elements = 256;
  std::uint16_t d;     // f16 scale of the sub-scales
  std::uint16_t dmin;  // f16 scale of the sub-minimums
  std::uint8_t scales[12];
  std::uint8_t qs[128];
};

// 256 weights in 16 sub-blocks of 16: d * sc[s] * (q - 32), q 6 bits: low 4 in ql, high 2 in qh.
struct BlockQ6_K {
  static constexpr DType dtype = DType::q6_k;
  static constexpr int elements = 256;
  std::uint8_t ql[128];
  std::uint8_t qh[64];
  std::int8_t scales[16];
  std::uint16_t d;  // f16 scale of the sub-scales
};

static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ6_K) == 210);

// A block's f16 scale, one at a time: one instruction where the CPU converts f16
// (F16C), else f16_to_f32, whose integer steps cost Q8_0 a third of its dot product.
// Both are exact.
inline float block_scale(std::uint16_t d) {
#if defined(__F16C__)
  return _cvtsh_ss(d);
#else
  return f16_to_f32(d);
#endif
}

// The blocks with one scale for all 32 weights: weight i is d * integer(b, i). The CPU's
// integer dot products (cpu/integer_dot.cpp) read the same integers.
inline int integer(const BlockQ8_0& b, int i) {
  return b.qs[i];
}

// Byte j holds weight j in its low nibble and j + 16 in its high one.
inline int integer(const BlockQ4_0& b, int i) {
  return i < 16 ? int(b.qs[i] & 0x0f) - 8 : int(b.qs[i - 16] >> 4) - 8;
}

template <typename Block>
requires requires(const Block& b) {
  integer(b, 0);
}
inline void dequantize(const Block& b, float* out) {
  const float d = block_scale(b.d);
  for (int i = 0; i < Block::elements; ++i) out[i] = d * float(integer(b, i));
}

// Sub-block s's 6-bit scale and minimum: s < 4 in the low 6 bits of bytes s and s + 4;
// s >= 4 split between the nibbles of byte s + 4 and the top 2 bits of bytes s - 4 and s.
inline void q4_k_scale_min(const std::uint8_t* q, int s, int& scale, int& min) {
  if (s < 4) {
    scale = q[s] & 63;
    min = q[s + 4] & 63;
  } else {
    scale = (q[s + 4] & 0x0f) | ((q[s - 4] >> 6) << 4);
    min = (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
  }
}

// d * sc and d * sc * q are exact in f32 (at most 21 significant bits), so a fused
// multiply-add the compiler may form gives the same result as gguf-py's two steps.
inline void dequantize(const BlockQ4_K& b, float* out) {
  const float d = block_scale(b.d), dmin = block_scale(b.dmin);
  for (int pair = 0; pair < 4; ++pair) {
    const std::uint8_t* q = b.qs + 32 * pair;
    int sc_lo, m_lo, sc_hi, m_hi;
    q4_k_scale_min(b.scales, 2 * pair, sc_lo, m_lo);
    q4_k_scale_min(b.scales, 2 * pair + 1, sc_hi, m_hi);
    const float d_lo = d * float(sc_lo), min_lo = dmin * float(m_lo);
    const float d_hi = d * float(sc_hi), min_hi = dmin * float(m_hi);
    float* y = out + 64 * pair;
    for (int l = 0; l < 32; ++l) {
      y[l] = d_lo * float(q[l] & 0x0f) - min_lo;
      y[l + 32] = d_hi * float(q[l] >> 4) - min_hi;
    }
  }
}

inline void dequantize(const BlockQ6_K& b, float* out) {
  const float d = block_scale(b.d);
  for (int half = 0; half < 2; ++half) {
    const std::uint8_t* ql = b.ql + 64 * half;
    const std::uint8_t* qh = b.qh + 32 * half;
    const std::int8_t* sc = b.scales + 8 * half;
    float* y = out + 128 * half;
    for (int l = 0; l < 32; ++l) {
      const int s = l / 16;
      const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * float(sc[s]) * float(q1);
      y[l + 32] = d * float(sc[s + 2]) * float(q2);
      y[l + 64] = d * float(sc[s + 4]) * float(q3);
      y[l + 96] = d * float(sc[s + 6]) * float(q4);
    }
  }
}

// Calls f(const Block*) with `data` typed as t's block; t must be quantized.
template <typename F>
void with_blocks(DType t, const void* data, F&& f) {
  switch (t) {
    case DType::q8_0:
      return f(static_cast<const BlockQ8_0*>(data));
    case DType::q4_0:
      return f(static_cast<const BlockQ4_0*>(data));
    case DType::q4_k:
      return f(static_cast<const BlockQ4_K*>(data));
    case DType::q6_k:
      return f(static_cast<const BlockQ6_K*>(data));
    case DType::f32:
    case DType::f16:
    case DType::bf16:
      break;
  }
}

}  // namespace moescope
