#include "cpu/integer_dot.h"

#include <cmath>
#include <limits>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace moescope::cpu {
namespace {

// 32 signed weights times 32 signed activations, summed exactly.
std::int32_t block_sum(const std::int8_t* w, const std::int8_t* x) {
#if defined(__AVX2__)
  const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  // vpmaddubsw multiplies unsigned by signed bytes: |w| times x with w's sign. Pairs
  // fit an int16 (2 * 128 * 127 < 2^15); vpmaddwd then sums them into int32 lanes.
  const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv));
  const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(quads), _mm256_extracti128_si256(quads, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
#else
  std::int32_t sum = 0;
  for (int i = 0; i < 32; ++i) sum += std::int32_t(w[i]) * x[i];
  return sum;
#endif
}

// 32 weights in [0, 63] times 32 signed activations: the sums of the first and the
// second 16 products, exact.
struct HalfSums {
  std::int32_t first, second;
};
HalfSums unsigned_block_sums(const std::uint8_t* w, const std::int8_t* x) {
#if defined(__AVX2__)
  const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  // Pairs fit an int16 (2 * 63 * 128 < 2^15); the low 128 bits hold values 0..15.
  const __m256i quads = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, xv), _mm256_set1_epi16(1));
  const auto sum4 = [](__m128i s) {
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
  };
  return {sum4(_mm256_castsi256_si128(quads)), sum4(_mm256_extracti128_si256(quads, 1))};
#else
  HalfSums sums{0, 0};
  for (int i = 0; i < 16; ++i) sums.first += std::int32_t(w[i]) * x[i];
  for (int i = 16; i < 32; ++i) sums.second += std::int32_t(w[i]) * x[i];
  return sums;
#endif
}

// Q4_0's nibbles as the signed integers they stand for, in weight order.
void unpack(const BlockQ4_0& b, std::int8_t* w) {
  for (int i = 0; i < 32; ++i) w[i] = std::int8_t(integer(b, i));
}

const std::int8_t* integers_of(const BlockQ8_0& b, std::int8_t*) {
  return b.qs;
}
const std::int8_t* integers_of(const BlockQ4_0& b, std::int8_t* scratch) {
  unpack(b, scratch);
  return scratch;
}

// Four independent sums, combined in a fixed order: the same result on every call
// (a batch's rows equal matvec's), and the adds do not wait on each other.
struct Lanes {
  float acc[4] = {};
  void add(int b, float v) { acc[b % 4] += v; }
  float total() const { return (acc[0] + acc[1]) + (acc[2] + acc[3]); }
};

template <typename Block>
float dot(const Block* w, const ActivationBlock* x, int n_blocks) {
  Lanes lanes;
  alignas(32) std::int8_t scratch[32];
  for (int b = 0; b < n_blocks; ++b) {
    const std::int32_t sum = block_sum(integers_of(w[b], scratch), x[b].q);
    lanes.add(b, block_scale(w[b].d) * x[b].d * float(sum));
  }
  return lanes.total();
}

// Sub-block s of 32 weights is d * sc[s] * q - dmin * m[s], so its product with
// activation block s is x.d * (d * sc[s] * sum(q * x.q) - dmin * m[s] * sum(x.q)).
float q4_k_block(const BlockQ4_K& w, const ActivationBlock* x) {
  const float d = block_scale(w.d), dmin = block_scale(w.dmin);
  alignas(32) std::uint8_t low[32], high[32];
  float sum = 0.0f;
  for (int pair = 0; pair < 4; ++pair) {
    const std::uint8_t* q = w.qs + 32 * pair;
    for (int l = 0; l < 32; ++l) {
      low[l] = q[l] & 0x0f;
      high[l] = q[l] >> 4;
    }
    for (const auto& [s, nibbles] : {std::pair{2 * pair, low}, {2 * pair + 1, high}}) {
      int scale, min;
      q4_k_scale_min(w.scales, s, scale, min);
      const HalfSums products = unsigned_block_sums(nibbles, x[s].q);
      const int activations = x[s].half_sums[0] + x[s].half_sums[1];
      sum += x[s].d * (d * float(scale) * float(products.first + products.second) -
                       dmin * float(min) * float(activations));
    }
  }
  return sum;
}

// Weights d * sc * (q - 32) with one scale per 16: each half of an activation block
// contributes sc * (sum(q * x.q) - 32 * sum(x.q)), an exact integer (below 2^24 for the
// pair, so exact in f32 too).
float q6_k_block(const BlockQ6_K& w, const ActivationBlock* x) {
  alignas(32) std::uint8_t q[4][32];
  float total = 0.0f;
  for (int half = 0; half < 2; ++half) {
    const std::uint8_t* ql = w.ql + 64 * half;
    const std::uint8_t* qh = w.qh + 32 * half;
    for (int l = 0; l < 32; ++l) {
      q[0][l] = std::uint8_t((ql[l] & 0x0f) | ((qh[l] & 3) << 4));
      q[1][l] = std::uint8_t((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4));
      q[2][l] = std::uint8_t((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      q[3][l] = std::uint8_t((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
    for (int j = 0; j < 4; ++j) {
      const ActivationBlock& a = x[4 * half + j];
      const std::int8_t* sc = w.scales + 8 * half + 2 * j;
      const HalfSums products = unsigned_block_sums(q[j], a.q);
      const std::int32_t sum = sc[0] * (products.first - 32 * a.half_sums[0]) +
                               sc[1] * (products.second - 32 * a.half_sums[1]);
      total += a.d * float(sum);
    }
  }
  return block_scale(w.d) * total;
}

template <typename Block, typename BlockDot>
float k_dot(const Block* w, const ActivationBlock* x, int n_blocks, BlockDot block_dot) {
  Lanes lanes;
  for (int b = 0; b < n_blocks; ++b) lanes.add(b, block_dot(w[b], x + b * (Block::elements / 32)));
  return lanes.total();
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
      for (int i = 0; i < 32; ++i) block.q[i] = std::int8_t(std::nearbyint(v[i] * inverse));
      for (int i = 0; i < 32; ++i) block.half_sums[i / 16] += block.q[i];
    }
    out.push_back(block);
  }
}

float integer_dot(const BlockQ8_0* w, const ActivationBlock* x, int n_blocks) {
  return dot(w, x, n_blocks);
}
float integer_dot(const BlockQ4_0* w, const ActivationBlock* x, int n_blocks) {
  return dot(w, x, n_blocks);
}
float integer_dot(const BlockQ4_K* w, const ActivationBlock* x, int n_blocks) {
  return k_dot(w, x, n_blocks, q4_k_block);
}
float integer_dot(const BlockQ6_K* w, const ActivationBlock* x, int n_blocks) {
  return k_dot(w, x, n_blocks, q6_k_block);
}

}  // namespace moescope::cpu
