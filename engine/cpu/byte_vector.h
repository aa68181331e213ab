#pragma once
// 32 bytes as one AVX2 register where the build has AVX2 (summed by AVX-VNNI's byte dot
// product where it has that), else a plain array, with the few operations the integer dot
// products (cpu/sub_blocks.h, cpu/sub_block_dot.cpp) unpack blocks with and the exact
// integer sums they take. All forms give the same integers.
#include <cstdint>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace moescope::cpu::bytes {

#if defined(__AVX2__)

using Bytes = __m256i;

inline Bytes load(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
// The 16 bytes' low nibbles, then their high nibbles.
inline Bytes nibbles_of_16(const std::uint8_t* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i mask = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), mask), _mm_and_si128(v, mask));
}
inline Bytes low_nibbles(Bytes v) {
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0f));
}
inline Bytes high_nibbles(Bytes v) {
  return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
}
// Bits shift and shift + 1 of every byte, moved to bits 4 and 5.
template <int shift>
Bytes two_bits_to_4(Bytes v) {
  const __m256i bits = _mm256_and_si256(_mm256_srli_epi16(v, shift), _mm256_set1_epi8(3));
  return _mm256_slli_epi16(bits, 4);  // values <= 3: nothing crosses into the next byte
}
inline Bytes or_bits(Bytes a, Bytes b) {
  return _mm256_or_si256(a, b);
}
inline Bytes minus(Bytes v, std::int8_t k) {
  return _mm256_sub_epi8(v, _mm256_set1_epi8(k));
}

// Products of 32 weight bytes and 32 activation bytes, four by four: lane l sums bytes
// 4l..4l + 3, exactly.
using Quads = __m256i;

// Unsigned weight bytes times signed activation bytes, four products per int32 lane.
#if defined(__AVXVNNI__)
// One vpdpbusd does the multiplies and the sums.
inline Quads unsigned_quads(Bytes w, Bytes x) {
  return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), w, x);
}
#else
// vpmaddubsw sums pairs into int16, which they fit for weights up to 128 (2 * 128 * 127 <
// 2^15, so never saturating: the same integers as vpdpbusd); vpmaddwd sums the pairs.
inline Quads unsigned_quads(Bytes w, Bytes x) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}
#endif
inline Quads unsigned_quads(Bytes w, const std::int8_t* x) {
  return unsigned_quads(w, load(x));
}
// Signed weights: |w| (at most 128) times x with w's sign.
inline Quads signed_quads(Bytes w, const std::int8_t* x) {
  return unsigned_quads(_mm256_sign_epi8(w, w), _mm256_sign_epi8(load(x), w));
}
// acc + unsigned_quads(w, x), in the dot product's own accumulator where VNNI has one.
inline Quads add_unsigned_quads(Quads acc, Bytes w, Bytes x) {
#if defined(__AVXVNNI__)
  return _mm256_dpbusd_avx_epi32(acc, w, x);
#else
  return _mm256_add_epi32(acc, unsigned_quads(w, x));
#endif
}
// The eight lanes' sum (exact: a block's products fit an int32 many times over).
inline int sum_quads(Quads q) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 1)));
}

#else

struct Bytes {
  std::uint8_t v[32];
};

inline Bytes load(const void* p) {
  Bytes b;
  const auto* s = static_cast<const std::uint8_t*>(p);
  for (int i = 0; i < 32; ++i) b.v[i] = s[i];
  return b;
}
inline Bytes nibbles_of_16(const std::uint8_t* p) {
  Bytes b;
  for (int j = 0; j < 16; ++j) {
    b.v[j] = p[j] & 0x0f;
    b.v[j + 16] = p[j] >> 4;
  }
  return b;
}
template <typename F>
Bytes each(Bytes b, F f) {
  for (std::uint8_t& x : b.v) x = std::uint8_t(f(x));
  return b;
}
inline Bytes low_nibbles(Bytes v) {
  return each(v, [](int x) { return x & 0x0f; });
}
inline Bytes high_nibbles(Bytes v) {
  return each(v, [](int x) { return x >> 4; });
}
template <int shift>
Bytes two_bits_to_4(Bytes v) {
  return each(v, [](int x) { return ((x >> shift) & 3) << 4; });
}
inline Bytes or_bits(Bytes a, Bytes b) {
  for (int i = 0; i < 32; ++i) a.v[i] |= b.v[i];
  return a;
}
inline Bytes minus(Bytes v, std::int8_t k) {
  return each(v, [k](int x) { return x - k; });
}

struct Quads {
  std::int32_t lane[8];
};

template <typename Weight>
Quads quads(Bytes w, const std::int8_t* x) {
  Quads q{};
  for (int i = 0; i < 32; ++i) q.lane[i / 4] += std::int32_t(Weight(w.v[i])) * x[i];
  return q;
}
inline Quads signed_quads(Bytes w, const std::int8_t* x) {
  return quads<std::int8_t>(w, x);
}
inline Quads unsigned_quads(Bytes w, const std::int8_t* x) {
  return quads<std::uint8_t>(w, x);
}
inline int sum_quads(Quads q) {
  int s = 0;
  for (int l : q.lane) s += l;
  return s;
}

#endif

}  // namespace moescope::cpu::bytes
