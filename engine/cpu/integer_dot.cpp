#include "cpu/integer_dot.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "cpu/byte_vector.h"
#include "cpu/sub_block_dot.h"

namespace moescope::cpu {
namespace {

using namespace bytes;

// Q6_K tokens a row's blocks are unpacked for at a time.
constexpr int tokens_per_pass = 4;

// Q6_K: a weight block is unpacked once and its products with each of the `count` tokens'
// activation blocks x + t * stride added into that token's lanes. Weights d * sc * (q - 32),
// one scale per 16: q - 32 is a signed byte, and each half of an activation block meets its
// own scale.
template <int count>
void add_block(const BlockQ6_K& w, const ActivationBlock* x, std::int64_t stride,
               FloatLanes* lanes) {
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
  for (int b = 0; b < n_blocks; ++b, x += Block::elements / 32)
    add_block<count>(w[b], x, stride, lanes);
  for (int t = 0; t < count; ++t) y[t * y_stride] = lanes[t].total();
}

template <int count, typename Block>
void rows_of(const Block* w, int n_blocks, std::int64_t rows, const ActivationBlock* x,
             std::int64_t stride, float* y, std::int64_t y_stride) {
  for (std::int64_t r = 0; r < rows; ++r)
    dots<count>(w + r * n_blocks, x, stride, n_blocks, y + r, y_stride);
}

}  // namespace

#if defined(__AVX2__)
namespace {

// The plain loop's block with AVX2: the same maximum (exact in any order), the same
// products with the inverse, and the same rounding (to nearest even, as nearbyint in the
// default mode).
ActivationBlock quantize_block(const float* v) {
  ActivationBlock block{};
  const __m256 magnitude_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 x[4], max = _mm256_setzero_ps();
  bool finite = true;
  for (int i = 0; i < 4; ++i) {
    x[i] = _mm256_loadu_ps(v + 8 * i);
    const __m256 magnitude = _mm256_and_ps(x[i], magnitude_mask);
    finite = finite &&
             _mm256_movemask_ps(_mm256_cmp_ps(
                 magnitude, _mm256_set1_ps(std::numeric_limits<float>::max()), _CMP_LE_OQ)) == 0xff;
    max = _mm256_max_ps(max, magnitude);
  }
  if (!finite) {
    block.d = std::numeric_limits<float>::quiet_NaN();
    return block;
  }
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(max), _mm256_extractf128_ps(max, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  const float amax = _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  if (amax == 0.0f) return block;
  block.d = amax / 127.0f;
  const __m256 inverse = _mm256_set1_ps(127.0f / amax);
  __m256i q[4];
  for (int i = 0; i < 4; ++i) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(x[i], inverse));
  // Within [-127, 127]: the packs never saturate; the permutation undoes their lane order.
  const __m256i bytes = _mm256_permutevar8x32_epi32(
      _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3])),
      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(block.q), bytes);
  block.sum = float(bytes::sum_quads(
      _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]))));
  return block;
}

}  // namespace

void quantize_activations(const float* x, int n, ActivationBlock* out) {
  for (int start = 0; start < n; start += 32) *out++ = quantize_block(x + start);
}
#else
void quantize_activations(const float* x, int n, ActivationBlock* out) {
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
    *out++ = block;
  }
}
#endif

template <typename Block>
void integer_rows(const Block* w, int n_blocks, std::int64_t rows, const ActivationBlock* x,
                  int tokens, std::int64_t stride, float* y, std::int64_t y_stride,
                  const std::byte* interleaved) {
  if constexpr (std::is_same_v<Block, BlockQ6_K>) {
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
  } else {
    sub_block_rows(w, n_blocks, rows, x, tokens, stride, y, y_stride, interleaved);
  }
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
