// A row's product is one formula whichever path runs it. Sub-block k of the row (32
// weights, scale s, Q4_K's minimum m) meets activation block k: its exact integer product
// I = sum(q * x.q) (Q4_0: less 8 * x.sum, for its nibbles less 8; exact in a float) goes
// into chain k mod 2 as acc = fma(s * x.d, I, acc), and Q4_K's minimum then as
// acc = fma(-(m * x.d), x.sum, acc), the chains in order from 0; the row is chain 0 +
// chain 1. Two chains keep the dependent additions from bounding decode. Q6_K's sub-block
// takes two such steps, one per half of 16 with its own scale, the first half first.
//
// Rows with an interleaved copy (cpu/interleaved_rows.h) run from it, 8 rows at a time; a
// batch without one interleaves 8 rows at a time as it goes. What is left runs row by
// row: four sub-blocks' integer sums side by side in one register (rows are contiguous,
// so one row at a time is one stream the prefetcher follows; two rows at a time halved
// decode).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/integer_dot.h"
#include "cpu/interleaved_rows.h"
#include "cpu/prefetch_ahead.h"
#include "cpu/sub_blocks.h"

namespace moescope::cpu {
namespace {

using namespace bytes;

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

// A Q6_K block's eight sub-blocks into the two chains: each sub-block's halves of 16 as
// two steps, the first half first.
__m128 add_q6_k_block(const BlockQ6_K& b, const ActivationBlock* x, __m128 acc) {
  using S = SubBlocks<BlockQ6_K>;
  Quads q[8];
  for (int s = 0; s < 8; ++s) q[s] = signed_quads(minus(S::bytes(b, s), S::centre), x[s].q);
  // Lanes 0-3 of each: the first halves' sums of four sub-blocks; lanes 4-7 the second's.
  const __m256i low =
      _mm256_hadd_epi32(_mm256_hadd_epi32(q[0], q[1]), _mm256_hadd_epi32(q[2], q[3]));
  const __m256i high =
      _mm256_hadd_epi32(_mm256_hadd_epi32(q[4], q[5]), _mm256_hadd_epi32(q[6], q[7]));
  const __m256 first = _mm256_cvtepi32_ps(_mm256_permute2x128_si256(low, high, 0x20));
  const __m256 second = _mm256_cvtepi32_ps(_mm256_permute2x128_si256(low, high, 0x31));
  // The scales of the first halves (even bytes), then of the second (odd bytes).
  const __m128i split =
      _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)),
                       _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
  const __m256 d = _mm256_set1_ps(block_scale(b.d));
  const auto scales = [&](__m128i bytes) {
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)), d);
  };
  const __m256 dx = _mm256_setr_ps(x[0].d, x[1].d, x[2].d, x[3].d, x[4].d, x[5].d, x[6].d, x[7].d);
  const __m256 s_first = _mm256_mul_ps(scales(split), dx);
  const __m256 s_second = _mm256_mul_ps(scales(_mm_unpackhi_epi64(split, split)), dx);
  for (int p = 0; p < 4; ++p) {
    acc = _mm_fmadd_ps(pair(s_first, p), pair(first, p), acc);
    acc = _mm_fmadd_ps(pair(s_second, p), pair(second, p), acc);
  }
  return acc;
}

template <typename Block>
float row_product(const Block* row, int n_blocks, const ActivationBlock* x) {
  const int subs = n_blocks * SubBlocks<Block>::count;
  __m128 acc = _mm_setzero_ps();  // lanes 0 and 1: the chains
  if constexpr (std::is_same_v<Block, BlockQ4_K> || std::is_same_v<Block, BlockQ6_K>) {
    for (int b = 0; b < n_blocks; ++b) {
      prefetch_ahead_span<sizeof(Block)>(row + b);
      if constexpr (std::is_same_v<Block, BlockQ4_K>)
        acc = add_q4_k_block(row[b], x + 8 * b, acc);
      else
        acc = add_q6_k_block(row[b], x + 8 * b, acc);
    }
  } else {
    int k = 0;
    for (; k + 4 <= subs; k += 4) {
      prefetch_ahead_span<4 * sizeof(Block)>(row + k);
      acc = add_four<Block, 4>(row, k, x + k, acc);
    }
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
  }
  return _mm_cvtss_f32(_mm_add_ss(acc, _mm_movehdup_ps(acc)));
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
    float& chain = acc[k % chains];
    if constexpr (std::is_same_v<Block, BlockQ6_K>) {
      const Quads q = signed_quads(minus(S::bytes(sub.block, sub.s), S::centre), a.q);
      const auto half_sum = [&](int first_lane) {
        return float(q.lane[first_lane] + q.lane[first_lane + 1] + q.lane[first_lane + 2] +
                     q.lane[first_lane + 3]);
      };
      float first, second;
      S::scale_halves(sub.block, sub.s, first, second);
      chain = fused(first * a.d, half_sum(0), chain);
      chain = fused(second * a.d, half_sum(4), chain);
    } else {
      float scale, min;
      S::scale_min(sub.block, sub.s, scale, min);
      const float exact =
          float(sum_quads(quads_of<Block>(S::bytes(sub.block, sub.s), a))) - S::offset * a.sum;
      chain = fused(scale * a.d, exact, chain);
      if constexpr (S::has_min) chain = fused(-(min * a.d), a.sum, chain);
    }
  }
  return acc[0] + acc[1];
}
#endif

}  // namespace

// Below this many tokens interleaving rows as a batch goes costs more than it saves.
constexpr int interleave_min_tokens = 2;

template <typename Block>
void integer_rows(const Block* w, int n_blocks, std::int64_t rows, const ActivationBlock* x,
                  int tokens, std::int64_t stride, float* y, std::int64_t y_stride,
                  const std::byte* interleaved) {
  std::int64_t r = 0;
#if defined(__AVX2__) && defined(__FMA__)
  constexpr int group = interleaved_group_rows;
  if (interleaved) {
    r = rows / group * group;
    interleaved_products<Block>(interleaved, n_blocks, rows / group, x, tokens, stride, y,
                                y_stride);
  } else if (tokens >= interleave_min_tokens) {
    thread_local std::vector<std::byte> own;
    own.resize(std::size_t(
        interleaved_group_bytes(Block::dtype, std::int64_t(n_blocks) * Block::elements)));
    for (; r + group <= rows; r += group) {
      interleave_rows(w + r * n_blocks, n_blocks, 1, own.data());
      interleaved_products<Block>(own.data(), n_blocks, 1, x, tokens, stride, y + r, y_stride);
    }
  }
#endif
  for (; r < rows; ++r)
    for (int t = 0; t < tokens; ++t)
      y[t * y_stride + r] = row_product(w + r * n_blocks, n_blocks, x + t * stride);
}

#define MOESCOPE_INTEGER_ROWS(Block)                                                       \
  template void integer_rows(const Block*, int, std::int64_t, const ActivationBlock*, int, \
                             std::int64_t, float*, std::int64_t, const std::byte*);
MOESCOPE_INTEGER_ROWS(BlockQ8_0)
MOESCOPE_INTEGER_ROWS(BlockQ4_0)
MOESCOPE_INTEGER_ROWS(BlockQ4_K)
MOESCOPE_INTEGER_ROWS(BlockQ6_K)
#undef MOESCOPE_INTEGER_ROWS

}  // namespace moescope::cpu
