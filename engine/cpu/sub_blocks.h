#pragma once
// Q8_0, Q4_0 and Q4_K as sub-blocks of 32 weights with one scale each (Q4_K: and one
// minimum), Q6_K with two (one per 16): the 32 weight bytes of sub-block s of a block, its
// scales and minimum. The row products (cpu/sub_block_dot.cpp) and the interleaved rows
// (cpu/interleaved_rows.cpp) read a block through these alone, so both see the same
// integers and scales.
#include <cstdint>
#include <cstring>

#include "cpu/byte_vector.h"
#include "model/quant_blocks.h"

namespace moescope::cpu {

template <typename Block>
struct SubBlocks;
template <>
struct SubBlocks<BlockQ8_0> {
  static constexpr int count = 1;
  static constexpr bool is_signed = true, has_min = false;
  static constexpr float offset = 0.0f;
  static bytes::Bytes bytes(const BlockQ8_0& b, int) { return bytes::load(b.qs); }
  static void scale_min(const BlockQ8_0& b, int, float& scale, float& min) {
    scale = block_scale(b.d);
    min = 0.0f;
  }
};
template <>
struct SubBlocks<BlockQ4_0> {
  static constexpr int count = 1;
  static constexpr bool is_signed = false, has_min = false;
  static constexpr float offset = 8.0f;
  static bytes::Bytes bytes(const BlockQ4_0& b, int) { return bytes::nibbles_of_16(b.qs); }
  static void scale_min(const BlockQ4_0& b, int, float& scale, float& min) {
    scale = block_scale(b.d);
    min = 0.0f;
  }
};
template <>
struct SubBlocks<BlockQ4_K> {
  static constexpr int count = 8;
  static constexpr bool is_signed = false, has_min = true;
  static constexpr float offset = 0.0f;
  // Sub-blocks 2i and 2i + 1 are the low and high nibbles of bytes 32i..32i + 31.
  static bytes::Bytes bytes(const BlockQ4_K& b, int s) {
    const bytes::Bytes q = bytes::load(b.qs + 32 * (s / 2));
    return s % 2 == 0 ? bytes::low_nibbles(q) : bytes::high_nibbles(q);
  }
  // d * sc and dmin * m are exact in a float (at most 17 significant bits).
  static void scale_min(const BlockQ4_K& b, int s, float& scale, float& min) {
    int sc, m;
    q4_k_scale_min(b.scales, s, sc, m);
    scale = block_scale(b.d) * float(sc);
    min = block_scale(b.dmin) * float(m);
  }
};

// Q6_K's sub-block s has two scales, one per half of 16 weights; its bytes are the 6-bit
// values q, and a weight is d * sc * (q - 32).
template <>
struct SubBlocks<BlockQ6_K> {
  static constexpr int count = 8;
  static constexpr int centre = 32;
  // Sub-block s = 4h + j: weights 128h + 32j.. take the low (j < 2) or high nibbles of
  // ql[64h + 32(j % 2) ..] and bits 2j, 2j + 1 of qh[32h ..].
  static bytes::Bytes bytes(const BlockQ6_K& b, int s) {
    const int h = s / 4, j = s % 4;
    const bytes::Bytes low = bytes::load(b.ql + 64 * h + 32 * (j % 2));
    const bytes::Bytes top = bytes::load(b.qh + 32 * h);
    const bytes::Bytes nibbles = j < 2 ? bytes::low_nibbles(low) : bytes::high_nibbles(low);
    switch (j) {
      case 0:
        return bytes::or_bits(nibbles, bytes::two_bits_to_4<0>(top));
      case 1:
        return bytes::or_bits(nibbles, bytes::two_bits_to_4<2>(top));
      case 2:
        return bytes::or_bits(nibbles, bytes::two_bits_to_4<4>(top));
      default:
        return bytes::or_bits(nibbles, bytes::two_bits_to_4<6>(top));
    }
  }
  // d * sc is exact in a float (at most 19 significant bits).
  static void scale_halves(const BlockQ6_K& b, int s, float& first, float& second) {
    first = block_scale(b.d) * float(b.scales[2 * s]);
    second = block_scale(b.d) * float(b.scales[2 * s + 1]);
  }
};

// Sub-block k of a row of blocks.
template <typename Block>
struct SubBlock {
  const Block& block;
  int s;
  SubBlock(const Block* row, int k)
      : block(row[k / SubBlocks<Block>::count]), s(k % SubBlocks<Block>::count) {}
};

// A row's sub-blocks go into two chains of additions, sub-block k into chain k mod 2.
constexpr int chains = 2;

#if defined(__AVX2__) && defined(__FMA__)
// A Q4_K block's eight scales d * sc and minimums dmin * m, unpacked together from their
// 12 bytes: the values q4_k_scale_min gives, eight at a time.
[[gnu::always_inline]] inline void q4_k_scales_mins(const BlockQ4_K& b, __m256& scale,
                                                    __m256& min) {
  std::uint32_t word[3];
  std::memcpy(word, b.scales, sizeof word);
  const std::uint32_t top = 0x30303030u;
  const std::uint32_t scales[2] = {word[0] & 0x3f3f3f3fu,
                                   (word[2] & 0x0f0f0f0fu) | ((word[0] >> 2) & top)};
  const std::uint32_t mins[2] = {word[1] & 0x3f3f3f3fu,
                                 ((word[2] >> 4) & 0x0f0f0f0fu) | ((word[1] >> 2) & top)};
  const auto eight = [](const std::uint32_t* bytes, float factor) {
    std::uint64_t packed;
    std::memcpy(&packed, bytes, sizeof packed);
    const __m256i v = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(std::int64_t(packed)));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(factor));
  };
  scale = eight(scales, block_scale(b.d));
  min = eight(mins, block_scale(b.dmin));
}
#endif

}  // namespace moescope::cpu
