#include "run/vector_exp.h"

#include <algorithm>
#include <cmath>

#if defined(__AVX2__) && defined(__x86_64__) && defined(__GLIBC__)
#include <immintrin.h>
#define MOESCOPE_LIBMVEC 1
// libmvec's AVX2 expf and exp by their vector-ABI names (glibc declares them only under
// -ffast-math).
extern "C" __m256 _ZGVdN8v_expf(__m256 x);
extern "C" __m256d _ZGVdN4v_exp(__m256d x);
#endif

namespace moescope {
namespace {

#ifdef MOESCOPE_LIBMVEC
struct Floats {
  using T = float;
  static constexpr int width = 8;
  static void exp(const float* in, float* out) {
    _mm256_storeu_ps(out, _ZGVdN8v_expf(_mm256_loadu_ps(in)));
  }
};
struct Doubles {
  using T = double;
  static constexpr int width = 4;
  static void exp(const double* in, double* out) {
    _mm256_storeu_pd(out, _ZGVdN4v_exp(_mm256_loadu_pd(in)));
  }
};

template <class V>
void vector_exp(const typename V::T* in, typename V::T* out, int n) {
  int i = 0;
  for (; i + V::width <= n; i += V::width) V::exp(in + i, out + i);
  if (i < n) {
    // The last few through the same function, so that no value's result depends on n.
    typename V::T tail[V::width] = {};
    std::copy(in + i, in + n, tail);
    V::exp(tail, tail);
    std::copy(tail, tail + (n - i), out + i);
  }
}
#else
template <class T>
void each_exp(const T* in, T* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = std::exp(in[i]);
}
#endif

}  // namespace

void exp_values(const float* in, float* out, int n) {
#ifdef MOESCOPE_LIBMVEC
  vector_exp<Floats>(in, out, n);
#else
  each_exp(in, out, n);
#endif
}

void exp_values(const double* in, double* out, int n) {
#ifdef MOESCOPE_LIBMVEC
  vector_exp<Doubles>(in, out, n);
#else
  each_exp(in, out, n);
#endif
}

}  // namespace moescope
