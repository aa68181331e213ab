// The products follow sub_block_dot.cpp's one formula: sub-block k's exact integer sum I
// (less offset * x.sum) goes into chain k mod 2 as acc = fma(s * x.d, I, acc), Q4_K's
// minimum then as acc = fma(-(m * x.d), x.sum, acc), and a row is chain 0 + chain 1; here
// the 8 lanes of a register are the 8 rows of a group. The integer sums are exact in any
// order, so a group's dot products may run side by side.
#include "cpu/interleaved_rows.h"

#include <cstring>
#include <type_traits>

#include "cpu/prefetch_ahead.h"
#include "cpu/sub_blocks.h"

namespace moescope::cpu {

#if defined(__AVX2__) && defined(__FMA__)
namespace {

using namespace bytes;

constexpr int rows = interleaved_group_rows;

// Where the parts of a block sit in its group's bytes (interleaved_rows.h).
template <typename Block>
struct Layout {
  static constexpr bool nibbles = !std::is_same_v<Block, BlockQ8_0>;
  static constexpr int sub_blocks = SubBlocks<Block>::count;
  static constexpr int q_bytes = nibbles ? 128 : 256;  // one sub-block's weights
  static constexpr int d = q_bytes * sub_blocks;       // d[8]
  static constexpr int dmin = d + 2 * rows;            // Q4_K: dmin[8], sc[8][8], m[8][8]
  static constexpr int sc = dmin + 2 * rows;
  static constexpr int m = sc + rows * sub_blocks;
  static constexpr int bytes = std::is_same_v<Block, BlockQ4_K> ? m + rows * sub_blocks : dmin;
};
template <>
struct Layout<BlockQ6_K> {
  static constexpr int sub_blocks = 8;
  static constexpr int top = 128;      // a sub-block's low 4 bits as Q4_0's, then its top 2
  static constexpr int q_bytes = 192;  // bits, 4 registers to a byte
  static constexpr int d = q_bytes * sub_blocks;  // d[8]
  static constexpr int sc = d + 2 * rows;         // sc[16][8]
  static constexpr int bytes = sc + 2 * sub_blocks * rows;
};
static_assert(Layout<BlockQ8_0>::bytes == 8 * sizeof(BlockQ8_0) &&
              Layout<BlockQ4_0>::bytes == 8 * sizeof(BlockQ4_0) &&
              Layout<BlockQ4_K>::bytes == 1184 &&
              Layout<BlockQ6_K>::bytes == 8 * sizeof(BlockQ6_K));

// v[r] lane g (weights 4g..4g + 3 of row r) to v[g] lane r: an 8 x 8 transpose of int32s.
void transpose8(__m256i* v) {
  __m256i t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
  }
  for (int half = 0; half < 2; ++half) {  // rows 0-3, then 4-7
    const __m256i* h = t + 4 * half;
    u[4 * half + 0] = _mm256_unpacklo_epi64(h[0], h[2]);  // groups 0 | 4
    u[4 * half + 1] = _mm256_unpackhi_epi64(h[0], h[2]);  // 1 | 5
    u[4 * half + 2] = _mm256_unpacklo_epi64(h[1], h[3]);  // 2 | 6
    u[4 * half + 3] = _mm256_unpackhi_epi64(h[1], h[3]);  // 3 | 7
  }
  for (int g = 0; g < 4; ++g) {
    v[g] = _mm256_permute2x128_si256(u[g], u[4 + g], 0x20);
    v[g + 4] = _mm256_permute2x128_si256(u[g], u[4 + g], 0x31);
  }
}

void store(std::byte* out, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), v);
}

// Q6_K's block b of the 8 rows: register g's low 4 bits as Q4_0's, its top 2 bits in bits
// 2(g % 4) of the bytes of register g / 4 after them.
void interleave_block(const BlockQ6_K* w, int n_blocks, int b, std::byte* out) {
  using S = SubBlocks<BlockQ6_K>;
  using L = Layout<BlockQ6_K>;
  const __m256i low4 = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(3);
  for (int s = 0; s < S::count; ++s) {
    __m256i v[rows];
    for (int r = 0; r < rows; ++r) v[r] = S::bytes(w[std::int64_t(r) * n_blocks + b], s);
    transpose8(v);
    std::byte* q = out + s * L::q_bytes;
    for (int g = 0; g < 4; ++g)
      store(q + 32 * g, _mm256_or_si256(_mm256_and_si256(v[g], low4),
                                        _mm256_slli_epi16(_mm256_and_si256(v[g + 4], low4), 4)));
    for (int half = 0; half < 2; ++half) {
      __m256i top = _mm256_setzero_si256();
      for (int g = 0; g < 4; ++g) {  // values below 4 shifted at most 6: inside each byte
        const __m256i bits = _mm256_and_si256(_mm256_srli_epi16(v[4 * half + g], 4), two);
        top = _mm256_or_si256(top, _mm256_slli_epi16(bits, 2 * g));
      }
      store(q + L::top + 32 * half, top);
    }
  }
  for (int r = 0; r < rows; ++r) {
    const BlockQ6_K& block = w[std::int64_t(r) * n_blocks + b];
    std::memcpy(out + L::d + 2 * r, &block.d, 2);
    for (int i = 0; i < 2 * S::count; ++i) out[L::sc + 8 * i + r] = std::byte(block.scales[i]);
  }
}

// Block b of the 8 rows at w (n_blocks blocks a row) into its place in the group.
template <typename Block>
void interleave_block(const Block* w, int n_blocks, int b, std::byte* out) {
  using S = SubBlocks<Block>;
  using L = Layout<Block>;
  for (int s = 0; s < S::count; ++s) {
    __m256i v[rows];
    for (int r = 0; r < rows; ++r) v[r] = S::bytes(w[std::int64_t(r) * n_blocks + b], s);
    transpose8(v);
    std::byte* q = out + s * L::q_bytes;
    if constexpr (L::nibbles) {  // values below 16: the shift stays inside each byte
      for (int g = 0; g < 4; ++g)
        store(q + 32 * g, _mm256_or_si256(v[g], _mm256_slli_epi16(v[g + 4], 4)));
    } else {
      for (int g = 0; g < 8; ++g) store(q + 32 * g, v[g]);
    }
  }
  for (int r = 0; r < rows; ++r) {
    const Block& block = w[std::int64_t(r) * n_blocks + b];
    std::memcpy(out + L::d + 2 * r, &block.d, 2);
    if constexpr (std::is_same_v<Block, BlockQ4_K>) {
      std::memcpy(out + L::dmin + 2 * r, &block.dmin, 2);
      for (int s = 0; s < 8; ++s) {
        int sc, m;
        q4_k_scale_min(block.scales, s, sc, m);
        out[L::sc + 8 * s + r] = std::byte(sc);
        out[L::m + 8 * s + r] = std::byte(m);
      }
    }
  }
}

// The weights of one sub-block of a group as registers g = 0..7.
template <typename Block>
[[gnu::always_inline]] inline void weights_of(const std::byte* q, __m256i* w) {
  if constexpr (Layout<Block>::nibbles) {
    for (int g = 0; g < 4; ++g) {
      const Bytes v = load(q + 32 * g);
      w[g] = low_nibbles(v);
      w[g + 4] = high_nibbles(v);
    }
  } else {
    for (int g = 0; g < 8; ++g) w[g] = load(q + 32 * g);
  }
}

__m256 halves_to_floats(const std::byte* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

__m256 bytes_to_floats(const std::byte* p) {
  std::int64_t eight;
  std::memcpy(&eight, p, sizeof eight);
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(eight)));
}

__m256 signed_bytes_to_floats(const std::byte* p) {
  std::int64_t eight;
  std::memcpy(&eight, p, sizeof eight);
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(eight)));
}

// Sub-block k (weights w, the 8 rows' scales and minimums) into the `count` tokens' chains.
template <typename Block, int count>
[[gnu::always_inline]] inline void add_sub_block(const __m256i* w, __m256 scale, __m256 minimum,
                                                 int k, const ActivationBlock* x,
                                                 std::int64_t stride, __m256* acc) {
  using S = SubBlocks<Block>;
  // One or two tokens take two partial sums each, so that the dependent dot products are
  // half as long; more would not leave the registers for them.
  constexpr int partials = count < 3 ? 2 : 1;
  Quads sums[count][2];
  for (auto& pair : sums) pair[0] = pair[1] = _mm256_setzero_si256();
  for (int g = 0; g < 8; ++g) {
    const __m256i magnitude = S::is_signed ? _mm256_sign_epi8(w[g], w[g]) : w[g];
    for (int t = 0; t < count; ++t) {
      std::int32_t four;
      std::memcpy(&four, x[t * stride + k].q + 4 * g, sizeof four);
      __m256i a = _mm256_set1_epi32(four);
      if constexpr (S::is_signed) a = _mm256_sign_epi8(a, w[g]);
      sums[t][g % partials] = add_unsigned_quads(sums[t][g % partials], magnitude, a);
    }
  }
  for (int t = 0; t < count; ++t) {
    const ActivationBlock& a = x[t * stride + k];
    const __m256 dx = _mm256_set1_ps(a.d), sx = _mm256_set1_ps(a.sum);
    const __m256 exact = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sums[t][0], sums[t][1])),
                                       _mm256_mul_ps(_mm256_set1_ps(S::offset), sx));
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(scale, dx), exact, acc[t]);
    if constexpr (S::has_min)
      acc[t] = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(minimum, dx)), sx,
                               acc[t]);
  }
}

// Q6_K's sub-block k of a group (its bytes q, the 8 rows' scales of its two halves) into
// the `count` tokens' chains: each half's integer sums apart, the first half's step first.
template <int count>
[[gnu::always_inline]] inline void add_q6_k_sub_block(const std::byte* q, __m256 first,
                                                      __m256 second, int k,
                                                      const ActivationBlock* x, std::int64_t stride,
                                                      __m256* acc) {
  using L = Layout<BlockQ6_K>;
  Quads sums[2][count];
  for (auto& half : sums)
    for (Quads& v : half) v = _mm256_setzero_si256();
  const __m256i low4 = _mm256_set1_epi8(0x0f), two_bits = _mm256_set1_epi8(0x30);
#pragma GCC unroll 8
  for (int g = 0; g < 8; ++g) {
    const Bytes packed = load(q + 32 * (g % 4));
    const Bytes nibbles = g < 4 ? _mm256_and_si256(packed, low4) : high_nibbles(packed);
    const __m256i top = load(q + L::top + 32 * (g / 4));
    const int shift = 4 - 2 * (g % 4);  // bits 2(g % 4) to bits 4 and 5
    const __m256i high = _mm256_and_si256(
        shift >= 0 ? _mm256_slli_epi16(top, shift) : _mm256_srli_epi16(top, -shift), two_bits);
    const __m256i w = _mm256_sub_epi8(_mm256_or_si256(nibbles, high),
                                      _mm256_set1_epi8(SubBlocks<BlockQ6_K>::centre));
    const __m256i magnitude = _mm256_sign_epi8(w, w);
    for (int t = 0; t < count; ++t) {
      std::int32_t four;
      std::memcpy(&four, x[t * stride + k].q + 4 * g, sizeof four);
      const __m256i a = _mm256_sign_epi8(_mm256_set1_epi32(four), w);
      sums[g / 4][t] = add_unsigned_quads(sums[g / 4][t], magnitude, a);
    }
  }
  for (int t = 0; t < count; ++t) {
    const __m256 dx = _mm256_set1_ps(x[t * stride + k].d);
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(first, dx), _mm256_cvtepi32_ps(sums[0][t]), acc[t]);
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(second, dx), _mm256_cvtepi32_ps(sums[1][t]), acc[t]);
  }
}

// One group of 8 rows times `count` tokens: y[t * y_stride + r], r < 8.
template <typename Block, int count>
void group_products(const std::byte* group, int n_blocks, const ActivationBlock* x,
                    std::int64_t stride, float* y, std::int64_t y_stride) {
  using L = Layout<Block>;
  __m256 acc[chains][count];
  for (auto& chain : acc)
    for (__m256& v : chain) v = _mm256_setzero_ps();
  for (int b = 0; b < n_blocks; ++b) {
    const std::byte* block = group + std::int64_t(b) * L::bytes;
    if constexpr (count == 1) prefetch_ahead_span<L::bytes>(block);
    const __m256 d = halves_to_floats(block + L::d);
    if constexpr (std::is_same_v<Block, BlockQ6_K>) {
#pragma GCC unroll 8
      for (int s = 0; s < 8; ++s) {
        const int k = 8 * b + s;
        const auto scales = [&](int half) {
          return _mm256_mul_ps(d, signed_bytes_to_floats(block + L::sc + 8 * (2 * s + half)));
        };
        add_q6_k_sub_block<count>(block + s * L::q_bytes, scales(0), scales(1), k, x, stride,
                                  acc[k % chains]);
      }
    } else if constexpr (std::is_same_v<Block, BlockQ4_K>) {
      const __m256 dmin = halves_to_floats(block + L::dmin);
#pragma GCC unroll 8
      for (int s = 0; s < 8; ++s) {
        const int k = 8 * b + s;
        __m256i w[8];
        weights_of<Block>(block + s * L::q_bytes, w);
        add_sub_block<Block, count>(w, _mm256_mul_ps(d, bytes_to_floats(block + L::sc + 8 * s)),
                                    _mm256_mul_ps(dmin, bytes_to_floats(block + L::m + 8 * s)), k,
                                    x, stride, acc[k % chains]);
      }
    } else {
      __m256i w[8];
      weights_of<Block>(block, w);
      add_sub_block<Block, count>(w, d, d, b, x, stride, acc[b % chains]);
    }
  }
  for (int t = 0; t < count; ++t)
    _mm256_storeu_ps(y + t * y_stride, _mm256_add_ps(acc[0][t], acc[1][t]));
}

// Tokens per pass over a group: their chains stay in registers.
constexpr int tokens_per_pass = 4;

template <typename Block>
void group_tokens(const std::byte* group, int n_blocks, const ActivationBlock* x, int tokens,
                  std::int64_t stride, float* y, std::int64_t y_stride) {
  int t = 0;
  for (; t + tokens_per_pass <= tokens; t += tokens_per_pass)
    group_products<Block, tokens_per_pass>(group, n_blocks, x + t * stride, stride,
                                           y + t * y_stride, y_stride);
  const ActivationBlock* xt = x + t * stride;
  float* yt = y + t * y_stride;
  switch (tokens - t) {
    case 3:
      return group_products<Block, 3>(group, n_blocks, xt, stride, yt, y_stride);
    case 2:
      return group_products<Block, 2>(group, n_blocks, xt, stride, yt, y_stride);
    case 1:
      return group_products<Block, 1>(group, n_blocks, xt, stride, yt, y_stride);
  }
}

}  // namespace

std::int64_t interleaved_group_bytes(DType dtype, std::int64_t cols) {
  switch (dtype) {
    case DType::q8_0:
      return cols / 32 * Layout<BlockQ8_0>::bytes;
    case DType::q4_0:
      return cols / 32 * Layout<BlockQ4_0>::bytes;
    case DType::q4_k:
      return cols / 256 * Layout<BlockQ4_K>::bytes;
    case DType::q6_k:
      return cols / 256 * Layout<BlockQ6_K>::bytes;
    default:
      return 0;
  }
}

template <typename Block>
void interleave_rows(const Block* w, int n_blocks, std::int64_t groups, std::byte* out) {
  for (std::int64_t i = 0; i < groups; ++i) {
    const Block* group = w + i * rows * n_blocks;
    for (int b = 0; b < n_blocks; ++b)
      interleave_block(group, n_blocks, b, out + (i * n_blocks + b) * Layout<Block>::bytes);
  }
}

template <typename Block>
void interleaved_products(const std::byte* groups_data, int n_blocks, std::int64_t groups,
                          const ActivationBlock* x, int tokens, std::int64_t stride, float* y,
                          std::int64_t y_stride) {
  const std::int64_t group_bytes = std::int64_t(n_blocks) * Layout<Block>::bytes;
  for (std::int64_t i = 0; i < groups; ++i)
    group_tokens<Block>(groups_data + i * group_bytes, n_blocks, x, tokens, stride, y + i * rows,
                        y_stride);
}

#define MOESCOPE_INTERLEAVED(Block)                                                            \
  template void interleave_rows(const Block*, int, std::int64_t, std::byte*);                  \
  template void interleaved_products<Block>(const std::byte*, int, std::int64_t,               \
                                            const ActivationBlock*, int, std::int64_t, float*, \
                                            std::int64_t);
MOESCOPE_INTERLEAVED(BlockQ8_0)
MOESCOPE_INTERLEAVED(BlockQ4_0)
MOESCOPE_INTERLEAVED(BlockQ4_K)
MOESCOPE_INTERLEAVED(BlockQ6_K)
#undef MOESCOPE_INTERLEAVED

#else

std::int64_t interleaved_group_bytes(DType, std::int64_t) {
  return 0;
}

#endif

}  // namespace moescope::cpu
