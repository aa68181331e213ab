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

// Four independent sums, combined in a fixed order: the same result for every
// build, and the adds do not wait on each other.
template <typename Block>
float dot(const Block* w, const ActivationBlock* x, int n_blocks) {
  float acc[4] = {};
  alignas(32) std::int8_t scratch[32];
  for (int b = 0; b < n_blocks; ++b) {
    const std::int32_t sum = block_sum(integers_of(w[b], scratch), x[b].q);
    acc[b % 4] += block_scale(w[b].d) * x[b].d * float(sum);
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
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

}  // namespace moescope::cpu
