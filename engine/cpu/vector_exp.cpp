#include "cpu/vector_exp.h"

#include <algorithm>
#include <cmath>

#if defined(__AVX2__) && defined(__x86_64__) && defined(__GLIBC__)
#include <immintrin.h>
#define MOESCOPE_LIBMVEC 1
// libmvec's AVX2 expf by its vector-ABI name (glibc declares it only under -ffast-math).
extern "C" __m256 _ZGVdN8v_expf(__m256 x);
#endif

namespace moescope::cpu {

void exp_values(const float* in, float* out, int n) {
  int i = 0;
#ifdef MOESCOPE_LIBMVEC
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _ZGVdN8v_expf(_mm256_loadu_ps(in + i)));
  if (i < n) {
    // The last few through the same function, so that no value's result depends on n.
    float tail[8] = {};
    std::copy(in + i, in + n, tail);
    _mm256_storeu_ps(tail, _ZGVdN8v_expf(_mm256_loadu_ps(tail)));
    std::copy(tail, tail + (n - i), out + i);
  }
#else
  for (; i < n; ++i) out[i] = std::exp(in[i]);
#endif
}

}  // namespace moescope::cpu
