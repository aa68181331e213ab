#include "cpu/integer_dot.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/byte_vector.h"

namespace moescope::cpu {

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

}  // namespace moescope::cpu
