#include "cpu/integer_dot.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "cpu/byte_vector.h"

namespace moescope::cpu {
namespace {

using namespace bytes;

// Q4_K and Q6_K: every add_block unpacks a weight block once and adds its products with
// each of the `count` tokens' activation blocks x + t * stride into that token's lanes.

// Sub-block s of 32 weights is d * sc[s] * q - dmin * m[s], so its product with
// activation block s is x.d * d * sc[s] * sum(q * x.q) - x.d * dmin * m[s] * sum(x.q); the
// second terms go to `minimums`.
template <int count>
void add_block(const BlockQ4_K& w, const ActivationBlock* x, std::int64_t stride, FloatLanes* lanes,
               float* minimums) {
  const float d = block_scale(w.d), dmin = block_scale(w.dmin);
  const auto add = [&](int s, Bytes q) {
    int scale, min;
    q4_k_scale_min(w.scales, s, scale, min);
    for (int t = 0; t < count; ++t) {
      const ActivationBlock& a = x[t * stride + s];
      lanes[t].add(a.d * d * float(scale), unsigned_quads(q, a.q));
      minimums[t] += a.d * dmin * float(min) * a.sum;
    }
  };
  for (int pair = 0; pair < 4; ++pair) {  // sub-blocks 2 pair and 2 pair + 1 share 32 bytes
    const Bytes q = load(w.qs + 32 * pair);
    add(2 * pair, low_nibbles(q));
    add(2 * pair + 1, high_nibbles(q));
  }
}

// Weights d * sc * (q - 32), one scale per 16: q - 32 is a signed byte, and each half of
// an activation block meets its own scale.
template <int count>
void add_block(const BlockQ6_K& w, const ActivationBlock* x, std::int64_t stride, FloatLanes* lanes,
               float*) {
  const float d = block_scale(w.d);
  for (int half = 0; half < 2; ++half) {
    const Bytes low = load(w.ql + 64 * half), high = load(w.ql + 64 * half + 32);
    const Bytes top = load(w.qh + 32 * half);
    const Bytes q[4] = {or_bits(low_nibbles(low), two_bits_to_4<0>(top)),
                        or_bits(low_nibbles(high), two_bits_to_4<2>(top)),
                        or_bits(high_nibbles(low), two_bits_to_4<4>(top)),
                        or_bits(high_nibbles(high), two_bits_to_4<6>(top))};
    for (int j = 0; j < 4; ++j) {
      const Bytes centred = minus(q[j], 32);
      const std::int8_t* sc = w.scales + 8 * half + 2 * j;
      for (int t = 0; t < count; ++t) {
        const ActivationBlock& a = x[t * stride + 4 * half + j];
        lanes[t].add(a.d * d * float(sc[0]), a.d * d * float(sc[1]), signed_quads(centred, a.q));
      }
    }
  }
}

// One row against `count` tokens: every block's scaled integer sums in eight lanes per
// token, summed once. A token's operations are the same for every count.
template <int count, typename Block>
void dots(const Block* w, const ActivationBlock* x, std::int64_t stride, int n_blocks, float* y,
          std::int64_t y_stride) {
  FloatLanes lanes[count];
  float minimums[count] = {};
  for (int b = 0; b < n_blocks; ++b, x += Block::elements / 32)
    add_block<count>(w[b], x, stride, lanes, minimums);
  for (int t = 0; t < count; ++t) y[t * y_stride] = lanes[t].total() - minimums[t];
}

template <int count, typename Block>
void rows_of(const Block* w, int n_blocks, std::int64_t rows, const ActivationBlock* x,
             std::int64_t stride, float* y, std::int64_t y_stride) {
  for (std::int64_t r = 0; r < rows; ++r)
    dots<count>(w + r * n_blocks, x, stride, n_blocks, y + r, y_stride);
}

// Q8_0 and Q4_0, one scale per 32 weights, give a row one formula whichever path runs it:
// block b's exact integer product I (Q4_0's nibbles less 8: sum(q * x.q) - 8 * x.sum, exact
// in a float) goes into chain b mod 4 as acc = fma(d_w * d_x, I, acc), the chains in block
// order from 0, and the row is (chain 0 + chain 2) + (chain 1 + chain 3). Four chains keep
// the dependent additions off the critical path. A token alone runs it row by row (rows are
// contiguous, so one row at a time is one stream the prefetcher follows; two at a time
// halved decode). A batch repacks 8 rows at a time, so that one register holds the 8 rows'
// weights of 4 columns and a broadcast of the token's 4 activations meets all 8 rows in one
// byte dot product: no sums across lanes, one scale product per 8 rows.
template <typename Block>
struct Scaled32;
template <>
struct Scaled32<BlockQ8_0> {
  static constexpr bool is_signed = true;
  static constexpr float offset = 0.0f;
  static Bytes bytes(const BlockQ8_0& b) { return load(b.qs); }
};
template <>
struct Scaled32<BlockQ4_0> {
  static constexpr bool is_signed = false;
  static constexpr float offset = 8.0f;
  static Bytes bytes(const BlockQ4_0& b) { return nibbles_of_16(b.qs); }
};
constexpr int chains = 2;

template <typename Block>
Quads block_quads(const Block& w, const ActivationBlock& a) {
  const Bytes q = Scaled32<Block>::bytes(w);
  return Scaled32<Block>::is_signed ? signed_quads(q, a.q) : unsigned_quads(q, a.q);
}

template <typename Block>
float exact_product(int sum, const ActivationBlock& a) {
  return float(sum) - Scaled32<Block>::offset * a.sum;
}

#if defined(__AVX2__) && defined(__FMA__)
// Four blocks of one row into the two chains (blocks 0 and 2 into chain 0, 1 and 3 into
// chain 1, in that order): their integer sums side by side in one register (block j's lanes
// 0-3 and 4-7 in lane j of the two halves). With `count` < 4 blocks the chains take only
// those.
template <typename Block, int count>
[[gnu::always_inline]] inline __m128 add_four_blocks(const Block* w, const ActivationBlock* x,
                                                     __m128 acc) {
  Quads q[4];
  float d_w[4] = {}, d_x[4] = {}, sum_x[4] = {};
  for (int j = 0; j < 4; ++j) {
    q[j] = j < count ? block_quads(w[j], x[j]) : _mm256_setzero_si256();
    if (j < count) {
      d_w[j] = block_scale(w[j].d);
      d_x[j] = x[j].d;
      sum_x[j] = x[j].sum;
    }
  }
  const __m256i pairs =
      _mm256_hadd_epi32(_mm256_hadd_epi32(q[0], q[1]), _mm256_hadd_epi32(q[2], q[3]));
  const __m128i sums =
      _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
  const __m128 scale = _mm_mul_ps(_mm_setr_ps(d_w[0], d_w[1], d_w[2], d_w[3]),
                                  _mm_setr_ps(d_x[0], d_x[1], d_x[2], d_x[3]));
  const __m128 exact = _mm_sub_ps(_mm_cvtepi32_ps(sums),
                                  _mm_mul_ps(_mm_set1_ps(Scaled32<Block>::offset),
                                             _mm_setr_ps(sum_x[0], sum_x[1], sum_x[2], sum_x[3])));
  // Lanes 0 and 1 are the chains; lanes 2 and 3 carry nothing.
  const auto step = [](__m128 acc, __m128 scale, __m128 exact, int blocks) {
    const __m128 updated = _mm_fmadd_ps(scale, exact, acc);
    return blocks >= 2 ? updated : _mm_blend_ps(acc, updated, 1);
  };
  acc = step(acc, scale, exact, count);
  if constexpr (count > 2)
    acc = step(acc, _mm_movehl_ps(scale, scale), _mm_movehl_ps(exact, exact), count - 2);
  return acc;
}

// One row, four blocks at a time.
template <typename Block>
float scaled32_row(const Block* w, int n_blocks, const ActivationBlock* x) {
  __m128 acc = _mm_setzero_ps();  // lanes 0 and 1: the chains
  int b = 0;
  for (; b + 4 <= n_blocks; b += 4) acc = add_four_blocks<Block, 4>(w + b, x + b, acc);
  switch (n_blocks - b) {
    case 3:
      acc = add_four_blocks<Block, 3>(w + b, x + b, acc);
      break;
    case 2:
      acc = add_four_blocks<Block, 2>(w + b, x + b, acc);
      break;
    case 1:
      acc = add_four_blocks<Block, 1>(w + b, x + b, acc);
  }
  return _mm_cvtss_f32(_mm_add_ss(acc, _mm_movehdup_ps(acc)));
}

constexpr int packed_rows = 8;
// Below this many tokens repacking costs more than it saves.
constexpr int packed_min_tokens = 2;
// Tokens per pass over the packed rows: 4 chains each stay in registers.
constexpr int packed_tokens_per_pass = 4;

struct PackedBlock {
  __m256i q[8];  // column group g: rows 0..7's weights 4g..4g + 3, as Scaled32::bytes gives them
  __m256 d;      // the 8 rows' scales
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

// Rows 0..7 of w (n_blocks blocks each, one row after another), block by block.
template <typename Block>
void pack_rows(const Block* w, int n_blocks, PackedBlock* out) {
  for (int b = 0; b < n_blocks; ++b) {
    alignas(32) float d[packed_rows];
    for (int r = 0; r < packed_rows; ++r) {
      const Block& block = w[std::int64_t(r) * n_blocks + b];
      out[b].q[r] = Scaled32<Block>::bytes(block);
      d[r] = block_scale(block.d);
    }
    transpose8(out[b].q);
    out[b].d = _mm256_load_ps(d);
  }
}

// Block b of the 8 packed rows into the `count` tokens' chains acc[t].
template <typename Block, int count>
[[gnu::always_inline]] inline void add_packed_block(const PackedBlock& p, int b,
                                                    const ActivationBlock* x, std::int64_t stride,
                                                    __m256* acc) {
  using S = Scaled32<Block>;
  Quads sums[count];
  for (int t = 0; t < count; ++t) sums[t] = _mm256_setzero_si256();
  for (int g = 0; g < 8; ++g) {
    const __m256i w = p.q[g];
    const __m256i magnitude = S::is_signed ? _mm256_sign_epi8(w, w) : w;
    for (int t = 0; t < count; ++t) {
      std::int32_t four;
      std::memcpy(&four, x[t * stride + b].q + 4 * g, sizeof four);
      __m256i a = _mm256_set1_epi32(four);
      if constexpr (S::is_signed) a = _mm256_sign_epi8(a, w);
      sums[t] = add_unsigned_quads(sums[t], magnitude, a);
    }
  }
  for (int t = 0; t < count; ++t) {
    const ActivationBlock& a = x[t * stride + b];
    const __m256 exact =
        _mm256_sub_ps(_mm256_cvtepi32_ps(sums[t]), _mm256_set1_ps(S::offset * a.sum));
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(p.d, _mm256_set1_ps(a.d)), exact, acc[t]);
  }
}

// 8 packed rows times `count` tokens: y[t * y_stride + r], r < 8.
template <typename Block, int count>
void packed_dots(const PackedBlock* p, int n_blocks, const ActivationBlock* x, std::int64_t stride,
                 float* y, std::int64_t y_stride) {
  __m256 acc[chains][count];
  for (auto& chain : acc)
    for (__m256& v : chain) v = _mm256_setzero_ps();
  int b = 0;
  for (; b + chains <= n_blocks; b += chains)
#pragma GCC unroll 4
    for (int c = 0; c < chains; ++c)
      add_packed_block<Block, count>(p[b + c], b + c, x, stride, acc[c]);
  for (int c = 0; b < n_blocks; ++b, ++c)
    add_packed_block<Block, count>(p[b], b, x, stride, acc[c]);
  for (int t = 0; t < count; ++t)
    _mm256_storeu_ps(y + t * y_stride, _mm256_add_ps(acc[0][t], acc[1][t]));
}

template <typename Block>
void packed_tokens(const PackedBlock* p, int n_blocks, const ActivationBlock* x, int tokens,
                   std::int64_t stride, float* y, std::int64_t y_stride) {
  int t = 0;
  for (; t + packed_tokens_per_pass <= tokens; t += packed_tokens_per_pass)
    packed_dots<Block, packed_tokens_per_pass>(p, n_blocks, x + t * stride, stride,
                                               y + t * y_stride, y_stride);
  const ActivationBlock* xt = x + t * stride;
  float* yt = y + t * y_stride;
  switch (tokens - t) {
    case 3:
      return packed_dots<Block, 3>(p, n_blocks, xt, stride, yt, y_stride);
    case 2:
      return packed_dots<Block, 2>(p, n_blocks, xt, stride, yt, y_stride);
    case 1:
      return packed_dots<Block, 1>(p, n_blocks, xt, stride, yt, y_stride);
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

// The same chains, block by block.
template <typename Block>
float scaled32_row(const Block* w, int n_blocks, const ActivationBlock* x) {
  float acc[chains] = {};
  for (int b = 0; b < n_blocks; ++b) {
    const ActivationBlock& a = x[b];
    const int sum = sum_quads(block_quads(w[b], a));
    acc[b % chains] =
        fused(block_scale(w[b].d) * a.d, exact_product<Block>(sum, a), acc[b % chains]);
  }
  return acc[0] + acc[1];
}
#endif

template <typename Block>
void scaled32_rows(const Block* w, int n_blocks, std::int64_t rows, const ActivationBlock* x,
                   int tokens, std::int64_t stride, float* y, std::int64_t y_stride) {
  std::int64_t r = 0;
#if defined(__AVX2__) && defined(__FMA__)
  if (tokens >= packed_min_tokens) {
    thread_local std::vector<PackedBlock> packed;
    packed.resize(n_blocks);
    for (; r + packed_rows <= rows; r += packed_rows) {
      pack_rows(w + r * n_blocks, n_blocks, packed.data());
      packed_tokens<Block>(packed.data(), n_blocks, x, tokens, stride, y + r, y_stride);
    }
  }
#endif
  for (; r < rows; ++r)
    for (int t = 0; t < tokens; ++t)
      y[t * y_stride + r] = scaled32_row(w + r * n_blocks, n_blocks, x + t * stride);
}

}  // namespace

void quantize_activations(const float* x, int n, std::vector<ActivationBlock>& out) {
  for (int start = 0; start < n; start += 32) {
    const float* v = x + start;
    ActivationBlock block{};
    float amax = 0.0f;
    bool finite = true;
    for (int i = 0; i < 32; ++i) {
      finite = finite && std::isfinite(v[i]);
      amax = std::max(amax, std::abs(v[i]));
    }
    if (!finite) {
      block.d = std::numeric_limits<float>::quiet_NaN();
    } else if (amax > 0.0f) {
      block.d = amax / 127.0f;
      const float inverse = 127.0f / amax;
      int sum = 0;
      for (int i = 0; i < 32; ++i) {
        block.q[i] = std::int8_t(std::nearbyint(v[i] * inverse));
        sum += block.q[i];
      }
      block.sum = float(sum);
    }
    out.push_back(block);
  }
}

template <typename Block>
void integer_rows(const Block* w, int n_blocks, std::int64_t rows, const ActivationBlock* x,
                  int tokens, std::int64_t stride, float* y, std::int64_t y_stride) {
  if constexpr (std::is_same_v<Block, BlockQ8_0> || std::is_same_v<Block, BlockQ4_0>) {
    scaled32_rows(w, n_blocks, rows, x, tokens, stride, y, y_stride);
  } else {
    for (int t = 0; t < tokens; t += tokens_per_pass) {
      const ActivationBlock* xt = x + t * stride;
      float* yt = y + t * y_stride;
      switch (std::min(tokens_per_pass, tokens - t)) {
        case 1:
          rows_of<1>(w, n_blocks, rows, xt, stride, yt, y_stride);
          break;
        case 2:
          rows_of<2>(w, n_blocks, rows, xt, stride, yt, y_stride);
          break;
        case 3:
          rows_of<3>(w, n_blocks, rows, xt, stride, yt, y_stride);
          break;
        default:
          rows_of<4>(w, n_blocks, rows, xt, stride, yt, y_stride);
      }
    }
  }
}

template void integer_rows(const BlockQ8_0*, int, std::int64_t, const ActivationBlock*, int,
                           std::int64_t, float*, std::int64_t);
template void integer_rows(const BlockQ4_0*, int, std::int64_t, const ActivationBlock*, int,
                           std::int64_t, float*, std::int64_t);
template void integer_rows(const BlockQ4_K*, int, std::int64_t, const ActivationBlock*, int,
                           std::int64_t, float*, std::int64_t);
template void integer_rows(const BlockQ6_K*, int, std::int64_t, const ActivationBlock*, int,
                           std::int64_t, float*, std::int64_t);

}  // namespace moescope::cpu
