// A row's product is one formula whichever path runs it. Sub-block k of the row (32
// weights, scale s, Q4_K's minimum m) meets activation block k: its exact integer product
// I = sum(q * x.q) (Q4_0: less 8 * x.sum, for its nibbles less 8; exact in a float) goes
// into chain k mod 2 as acc = fma(s * x.d, I, acc), and Q4_K's minimum then as
// acc = fma(-(m * x.d), x.sum, acc), the chains in order from 0; the row is chain 0 +
// chain 1. Two chains keep the dependent additions from bounding decode.
//
// A token alone runs it row by row, four sub-blocks' integer sums side by side in one
// register (rows are contiguous, so one row at a time is one stream the prefetcher follows;
// two rows at a time halved decode). A batch repacks 8 rows at a time, so that one
// register holds the 8 rows' weights of 4 columns and a broadcast of the token's 4
// activations meets all 8 rows in one byte dot product: no sums across lanes, one scale
// product per 8 rows.
#include "cpu/sub_block_dot.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/byte_vector.h"

namespace moescope::cpu {
namespace {

using namespace bytes;

template <typename Block>
struct SubBlocks;
template <>
struct SubBlocks<BlockQ8_0> {
  static constexpr int count = 1;
  static constexpr bool is_signed = true, has_min = false;
  static constexpr float offset = 0.0f;
  static Bytes bytes(const BlockQ8_0& b, int) { return load(b.qs); }
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
  static Bytes bytes(const BlockQ4_0& b, int) { return nibbles_of_16(b.qs); }
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
  static Bytes bytes(const BlockQ4_K& b, int s) {
    const Bytes q = load(b.qs + 32 * (s / 2));
    return s % 2 == 0 ? low_nibbles(q) : high_nibbles(q);
  }
  // d * sc and dmin * m are exact in a float (at most 17 significant bits).
  static void scale_min(const BlockQ4_K& b, int s, float& scale, float& min) {
    int sc, m;
    q4_k_scale_min(b.scales, s, sc, m);
    scale = block_scale(b.d) * float(sc);
    min = block_scale(b.dmin) * float(m);
  }
};

constexpr int chains = 2;

// Sub-block k of a row of n_blocks blocks.
template <typename Block>
struct SubBlock {
  const Block& block;
  int s;
  SubBlock(const Block* row, int k)
      : block(row[k / SubBlocks<Block>::count]), s(k % SubBlocks<Block>::count) {}
};

template <typename Block>
Quads quads_of(Bytes q, const ActivationBlock& a) {
  return SubBlocks<Block>::is_signed ? signed_quads(q, a.q) : unsigned_quads(q, a.q);
}

// Sub-blocks k..k + count - 1 of a row (count <= 4).
template <typename Block>
void unpack_four(const Block* row, int k, int count, Bytes* q, float* scale, float* min) {
  for (int j = 0; j < count; ++j) {
    const SubBlock<Block> sub(row, k + j);
    q[j] = SubBlocks<Block>::bytes(sub.block, sub.s);
    SubBlocks<Block>::scale_min(sub.block, sub.s, scale[j], min[j]);
  }
}
#if defined(__AVX2__) && defined(__FMA__)
// Sub-blocks k..k + 3 of one row into the two chains (k and k + 2 into chain k mod 2, in
// that order): their integer sums side by side in one register (sub-block j's lanes 0-3
// and 4-7 in lane j of the two halves). With `count` < 4 the chains take only those.
template <typename Block, int count>
[[gnu::always_inline]] inline __m128 add_four(const Block* row, int k, const ActivationBlock* x,
                                              __m128 acc) {
  using S = SubBlocks<Block>;
  Bytes w[4];
  Quads q[4];
  float scale[4] = {}, min[4] = {}, d_x[4] = {}, sum_x[4] = {};
  unpack_four(row, k, count, w, scale, min);
  for (int j = 0; j < 4; ++j) {
    q[j] = j < count ? quads_of<Block>(w[j], x[j]) : _mm256_setzero_si256();
    if (j < count) {
      d_x[j] = x[j].d;
      sum_x[j] = x[j].sum;
    }
  }
  const __m256i pairs =
      _mm256_hadd_epi32(_mm256_hadd_epi32(q[0], q[1]), _mm256_hadd_epi32(q[2], q[3]));
  const __m128i sums =
      _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
  const auto vec = [](const float* v) { return _mm_setr_ps(v[0], v[1], v[2], v[3]); };
  const __m128 dx = vec(d_x), sx = vec(sum_x);
  const __m128 s = _mm_mul_ps(vec(scale), dx);
  const __m128 exact = _mm_sub_ps(_mm_cvtepi32_ps(sums), _mm_mul_ps(_mm_set1_ps(S::offset), sx));
  const __m128 negated_min = _mm_sub_ps(_mm_setzero_ps(), _mm_mul_ps(vec(min), dx));
  // Lanes 0 and 1 are the chains; lanes 2 and 3 carry nothing.
  const auto step = [&](__m128 acc, __m128 s, __m128 exact, __m128 m, __m128 sx, int left) {
    __m128 updated = _mm_fmadd_ps(s, exact, acc);
    if constexpr (S::has_min) updated = _mm_fmadd_ps(m, sx, updated);
    return left >= 2 ? updated : _mm_blend_ps(acc, updated, 1);
  };
  acc = step(acc, s, exact, negated_min, sx, count);
  if constexpr (count > 2) {
    const auto high = [](__m128 v) { return _mm_movehl_ps(v, v); };
    acc = step(acc, high(s), high(exact), high(negated_min), high(sx), count - 2);
  }
  return acc;
}

// Eight sub-blocks' integer sums side by side: lane j is q[j]'s eight lanes' sum.
__m256i sums_of_eight(const Quads* q) {
  const __m256i low =
      _mm256_hadd_epi32(_mm256_hadd_epi32(q[0], q[1]), _mm256_hadd_epi32(q[2], q[3]));
  const __m256i high =
      _mm256_hadd_epi32(_mm256_hadd_epi32(q[4], q[5]), _mm256_hadd_epi32(q[6], q[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(low, high, 0x20),
                          _mm256_permute2x128_si256(low, high, 0x31));
}

// Lanes 2p and 2p + 1 of v in lanes 0 and 1: eight sub-blocks enter the chains a pair at a
// time, in order.
__m128 pair(__m256 v, int p) {
  const __m128 half = p < 2 ? _mm256_castps256_ps128(v) : _mm256_extractf128_ps(v, 1);
  return p % 2 == 0 ? half : _mm_movehl_ps(half, half);
}

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

// A Q4_K block's eight sub-blocks into the two chains at once: their sums side by side in
// one register, their scales and minimums unpacked together.
__m128 add_q4_k_block(const BlockQ4_K& b, const ActivationBlock* x, __m128 acc) {
  Quads q[8];
  for (int pair = 0; pair < 4; ++pair) {
    const Bytes v = load(b.qs + 32 * pair);
    q[2 * pair] = unsigned_quads(low_nibbles(v), x[2 * pair].q);
    q[2 * pair + 1] = unsigned_quads(high_nibbles(v), x[2 * pair + 1].q);
  }
  const __m256i sums = sums_of_eight(q);
  __m256 scale, min;
  q4_k_scales_mins(b, scale, min);
  const __m256 dx = _mm256_setr_ps(x[0].d, x[1].d, x[2].d, x[3].d, x[4].d, x[5].d, x[6].d, x[7].d);
  const __m256 sx = _mm256_setr_ps(x[0].sum, x[1].sum, x[2].sum, x[3].sum, x[4].sum, x[5].sum,
                                   x[6].sum, x[7].sum);
  const __m256 s = _mm256_mul_ps(scale, dx);
  const __m256 exact = _mm256_cvtepi32_ps(sums);
  const __m256 negated_min = _mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(min, dx));
  for (int p = 0; p < 4; ++p) {
    acc = _mm_fmadd_ps(pair(s, p), pair(exact, p), acc);
    acc = _mm_fmadd_ps(pair(negated_min, p), pair(sx, p), acc);
  }
  return acc;
}

template <typename Block>
float row_product(const Block* row, int n_blocks, const ActivationBlock* x) {
  const int subs = n_blocks * SubBlocks<Block>::count;
  __m128 acc = _mm_setzero_ps();  // lanes 0 and 1: the chains
  if constexpr (std::is_same_v<Block, BlockQ4_K>) {
    for (int b = 0; b < n_blocks; ++b) acc = add_q4_k_block(row[b], x + 8 * b, acc);
    return _mm_cvtss_f32(_mm_add_ss(acc, _mm_movehdup_ps(acc)));
  }
  int k = 0;
  for (; k + 4 <= subs; k += 4) acc = add_four<Block, 4>(row, k, x + k, acc);
  switch (subs - k) {
    case 3:
      acc = add_four<Block, 3>(row, k, x + k, acc);
      break;
    case 2:
      acc = add_four<Block, 2>(row, k, x + k, acc);
      break;
    case 1:
      acc = add_four<Block, 1>(row, k, x + k, acc);
  }
  return _mm_cvtss_f32(_mm_add_ss(acc, _mm_movehdup_ps(acc)));
}

constexpr int packed_rows = 8;
// Below this many tokens repacking costs more than it saves.
constexpr int packed_min_tokens = 2;
// Tokens per pass over the packed rows: their two chains stay in registers.
constexpr int packed_tokens_per_pass = 4;

struct PackedSubBlock {
  __m256i q[8];    // column group g: rows 0..7's weights 4g..4g + 3, as SubBlocks::bytes gives
  __m256 scale;    // the 8 rows' scales
  __m256 minimum;  // and minimums (Q4_K)
};

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

// Rows 0..7 of w (n_blocks blocks each, one row after another), sub-block by sub-block.
template <typename Block>
void pack_rows(const Block* w, int n_blocks, PackedSubBlock* out) {
  using S = SubBlocks<Block>;
  for (int k = 0; k < n_blocks * S::count; ++k) {
    alignas(32) float scale[packed_rows], min[packed_rows];
    for (int r = 0; r < packed_rows; ++r) {
      const SubBlock<Block> sub(w + std::int64_t(r) * n_blocks, k);
      out[k].q[r] = S::bytes(sub.block, sub.s);
      S::scale_min(sub.block, sub.s, scale[r], min[r]);
    }
    transpose8(out[k].q);
    out[k].scale = _mm256_load_ps(scale);
    out[k].minimum = _mm256_load_ps(min);
  }
}

// Q4_K's rows a block at a time: each row's eight scales and minimums unpacked together,
// then turned from rows into sub-blocks by the same transpose as the weights.
void pack_rows(const BlockQ4_K* w, int n_blocks, PackedSubBlock* out) {
  for (int b = 0; b < n_blocks; ++b) {
    PackedSubBlock* p = out + 8 * b;
    __m256i scale[packed_rows], min[packed_rows];  // row r's eight, then sub-block s's eight
    for (int r = 0; r < packed_rows; ++r) {
      const BlockQ4_K& block = w[std::int64_t(r) * n_blocks + b];
      for (int pair = 0; pair < 4; ++pair) {
        const Bytes v = load(block.qs + 32 * pair);
        p[2 * pair].q[r] = low_nibbles(v);
        p[2 * pair + 1].q[r] = high_nibbles(v);
      }
      __m256 s, m;
      q4_k_scales_mins(block, s, m);
      scale[r] = _mm256_castps_si256(s);
      min[r] = _mm256_castps_si256(m);
    }
    transpose8(scale);
    transpose8(min);
    for (int s = 0; s < 8; ++s) {
      transpose8(p[s].q);
      p[s].scale = _mm256_castsi256_ps(scale[s]);
      p[s].minimum = _mm256_castsi256_ps(min[s]);
    }
  }
}

// Sub-block k of the 8 packed rows into the `count` tokens' chains acc[t].
template <typename Block, int count>
[[gnu::always_inline]] inline void add_packed(const PackedSubBlock& p, int k,
                                              const ActivationBlock* x, std::int64_t stride,
                                              __m256* acc) {
  using S = SubBlocks<Block>;
  Quads sums[count];
  for (int t = 0; t < count; ++t) sums[t] = _mm256_setzero_si256();
  for (int g = 0; g < 8; ++g) {
    const __m256i w = p.q[g];
    const __m256i magnitude = S::is_signed ? _mm256_sign_epi8(w, w) : w;
    for (int t = 0; t < count; ++t) {
      std::int32_t four;
      std::memcpy(&four, x[t * stride + k].q + 4 * g, sizeof four);
      __m256i a = _mm256_set1_epi32(four);
      if constexpr (S::is_signed) a = _mm256_sign_epi8(a, w);
      sums[t] = add_unsigned_quads(sums[t], magnitude, a);
    }
  }
  for (int t = 0; t < count; ++t) {
    const ActivationBlock& a = x[t * stride + k];
    const __m256 dx = _mm256_set1_ps(a.d), sx = _mm256_set1_ps(a.sum);
    const __m256 exact =
        _mm256_sub_ps(_mm256_cvtepi32_ps(sums[t]), _mm256_mul_ps(_mm256_set1_ps(S::offset), sx));
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(p.scale, dx), exact, acc[t]);
    if constexpr (S::has_min)
      acc[t] = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(p.minimum, dx)), sx,
                               acc[t]);
  }
}

// 8 packed rows times `count` tokens: y[t * y_stride + r], r < 8.
template <typename Block, int count>
void packed_dots(const PackedSubBlock* p, int subs, const ActivationBlock* x, std::int64_t stride,
                 float* y, std::int64_t y_stride) {
  __m256 acc[chains][count];
  for (auto& chain : acc)
    for (__m256& v : chain) v = _mm256_setzero_ps();
  int k = 0;
  for (; k + chains <= subs; k += chains)
#pragma GCC unroll 2
    for (int c = 0; c < chains; ++c) add_packed<Block, count>(p[k + c], k + c, x, stride, acc[c]);
  if (k < subs) add_packed<Block, count>(p[k], k, x, stride, acc[0]);
  for (int t = 0; t < count; ++t)
    _mm256_storeu_ps(y + t * y_stride, _mm256_add_ps(acc[0][t], acc[1][t]));
}

template <typename Block>
void packed_tokens(const PackedSubBlock* p, int subs, const ActivationBlock* x, int tokens,
                   std::int64_t stride, float* y, std::int64_t y_stride) {
  int t = 0;
  for (; t + packed_tokens_per_pass <= tokens; t += packed_tokens_per_pass)
    packed_dots<Block, packed_tokens_per_pass>(p, subs, x + t * stride, stride, y + t * y_stride,
                                               y_stride);
  const ActivationBlock* xt = x + t * stride;
  float* yt = y + t * y_stride;
  switch (tokens - t) {
    case 3:
      return packed_dots<Block, 3>(p, subs, xt, stride, yt, y_stride);
    case 2:
      return packed_dots<Block, 2>(p, subs, xt, stride, yt, y_stride);
    case 1:
      return packed_dots<Block, 1>(p, subs, xt, stride, yt, y_stride);
  }
}
#else
float fused(float a, float b, float c) {
#if defined(__FMA__)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// The same chains, sub-block by sub-block.
template <typename Block>
float row_product(const Block* row, int n_blocks, const ActivationBlock* x) {
  using S = SubBlocks<Block>;
  float acc[chains] = {};
  for (int k = 0; k < n_blocks * S::count; ++k) {
    const ActivationBlock& a = x[k];
    const SubBlock<Block> sub(row, k);
    float scale, min;
    S::scale_min(sub.block, sub.s, scale, min);
    const float exact =
        float(sum_quads(quads_of<Block>(S::bytes(sub.block, sub.s), a))) - S::offset * a.sum;
    float& chain = acc[k % chains];
    chain = fused(scale * a.d, exact, chain);
    if constexpr (S::has_min) chain = fused(-(min * a.d), a.sum, chain);
  }
  return acc[0] + acc[1];
}
#endif

}  // namespace

template <typename Block>
void sub_block_rows(const Block* w, int n_blocks, std::int64_t rows, const ActivationBlock* x,
                    int tokens, std::int64_t stride, float* y, std::int64_t y_stride) {
  std::int64_t r = 0;
#if defined(__AVX2__) && defined(__FMA__)
  if (tokens >= packed_min_tokens) {
    const int subs = n_blocks * SubBlocks<Block>::count;
    thread_local std::vector<PackedSubBlock> packed;
    packed.resize(subs);
    for (; r + packed_rows <= rows; r += packed_rows) {
      pack_rows(w + r * n_blocks, n_blocks, packed.data());
      packed_tokens<Block>(packed.data(), subs, x, tokens, stride, y + r, y_stride);
    }
  }
#endif
  for (; r < rows; ++r)
    for (int t = 0; t < tokens; ++t)
      y[t * y_stride + r] = row_product(w + r * n_blocks, n_blocks, x + t * stride);
}

template void sub_block_rows(const BlockQ8_0*, int, std::int64_t, const ActivationBlock*, int,
                             std::int64_t, float*, std::int64_t);
template void sub_block_rows(const BlockQ4_0*, int, std::int64_t, const ActivationBlock*, int,
                             std::int64_t, float*, std::int64_t);
template void sub_block_rows(const BlockQ4_K*, int, std::int64_t, const ActivationBlock*, int,
                             std::int64_t, float*, std::int64_t);

}  // namespace moescope::cpu
