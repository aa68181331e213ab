#include "cpu/float_rows.h"

#include <cmath>
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define MOESCOPE_FLOAT_ROWS_AVX2 1
#endif
#if MOESCOPE_FLOAT_ROWS_AVX2 && MOESCOPE_FLOAT_ROWS_AVX512
#include "cpu/float_rows_avx512.h"
#endif
#include "cpu/prefetch_ahead.h"

namespace moescope::cpu {
namespace {

constexpr int lanes = 16;

#if MOESCOPE_FLOAT_ROWS_AVX2
// Eight weights widened to f32, and one.
struct F32 {
  using T = float;
  static __m256 eight(const float* p) { return _mm256_loadu_ps(p); }
  static float one(float v) { return v; }
};
struct Bf16 {
  using T = std::uint16_t;
  static __m256 eight(const std::uint16_t* p) {
    const __m256i wide =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static float one(std::uint16_t v) { return bf16_to_f32(v); }
};
struct F16 {  // the CPU's own conversion (vcvtph2ps)
  using T = std::uint16_t;
  static __m256 eight(const std::uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float one(std::uint16_t v) { return _cvtsh_ss(v); }
};

// The 16 lanes as a tree: lane l and l + 8, then l and l + 4, l and l + 2, and the last
// two (one vector add each), where adding them one by one cost a pass over a 352-wide
// expert row a third of its time.
float sum_lanes(__m256 low, __m256 high) {
  const __m256 eight = _mm256_add_ps(low, high);
  __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
  four = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(four, _mm_movehdup_ps(four)));
}

// out[r][t] = w[r] · x[t] for R rows and T tokens. The lanes of each product live in two
// registers (columns 0-7 and 8-15 of each 16); the halves are done one after the other so
// that 2 R T accumulators, R weights and one activation fit in the 16 registers. `weights`:
// the rows are a weight matrix streamed from memory (cpu/prefetch_ahead.h), not attention's
// cached keys, which a prefetch 4 KiB ahead would only pollute.
template <class D, int R, int T, bool weights = false>
void dots(const typename D::T* const* w, const float* const* x, int cols, float (*out)[T]) {
  __m256 acc[2][R][T];
#pragma GCC unroll 16
  for (int h = 0; h < 2; ++h)
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) acc[h][r][t] = _mm256_setzero_ps();
  int i = 0;
  for (; i + lanes <= cols; i += lanes) {
    if constexpr (weights && R == 1 && T == 1) prefetch_ahead(w[0] + i);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m256 wv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) wv[r] = D::eight(w[r] + i + 8 * h);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256 xv = _mm256_loadu_ps(x[t] + i + 8 * h);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[h][r][t] = _mm256_fmadd_ps(wv[r], xv, acc[h][r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      float s = sum_lanes(acc[0][r][t], acc[1][r][t]);
      for (int j = i; j < cols; ++j) s = std::fma(D::one(w[r][j]), x[t][j], s);
      out[r][t] = s;
    }
}

// store(r, t, w_r · x_t) for rows r < rows and tokens t < tokens, the pointers from row(r)
// and token(t): rows in pairs, tokens in threes, then the rows and tokens left over.
template <class D, bool weights, class Row, class Token, class Store>
void tiles(Row row, std::int64_t rows, Token token, int tokens, int cols, Store store) {
  const auto pass = [&]<int R, int T>(std::int64_t r, int t) {
    const typename D::T* wr[R];
    const float* xt[T];
    for (int i = 0; i < R; ++i) wr[i] = row(r + i);
    for (int j = 0; j < T; ++j) xt[j] = token(t + j);
    float out[R][T];
    dots<D, R, T, weights>(wr, xt, cols, out);
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) store(r + i, t + j, out[i][j]);
  };
  const auto row_block = [&]<int R>(std::int64_t r) {
    int t = 0;
    for (; t + 3 <= tokens; t += 3) pass.template operator()<R, 3>(r, t);
    if (tokens - t == 2) pass.template operator()<R, 2>(r, t);
    if (tokens - t == 1) pass.template operator()<R, 1>(r, t);
  };
  // One token reads its rows one after another: rows are contiguous, so that is one
  // stream the prefetcher follows, where two rows at a time halved bench-8k's decode.
  std::int64_t r = 0;
  if (tokens > 1)
    for (; r + 2 <= rows; r += 2) row_block.template operator()<2>(r);
  for (; r < rows; ++r) row_block.template operator()<1>(r);
}

template <class D>
void rows_times_tokens(const typename D::T* w, std::int64_t rows, int cols, const float* x,
                       int tokens, float* y, std::int64_t y_stride) {
  tiles<D, true>([&](std::int64_t r) { return w + r * cols; }, rows,
                 [&](int t) { return x + std::int64_t(t) * cols; }, tokens, cols,
                 [&](std::int64_t r, int t, float v) { y[t * y_stride + r] = v; });
}
#else
// The AVX2 form's tree.
float sum_lanes(float* acc) {
  for (int width = lanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  return acc[0];
}

// Without AVX2: a plain loop in the same 16 lanes, which the compiler vectorises.
template <typename T, typename Widen>
float dot_row(const T* w, const float* x, int n, Widen widen_one) {
  float acc[lanes] = {};
  int i = 0;
  for (; i + lanes <= n; i += lanes)
    for (int l = 0; l < lanes; ++l) acc[l] += widen_one(w[i + l]) * x[i + l];
  float sum = sum_lanes(acc);
  for (; i < n; ++i) sum += widen_one(w[i]) * x[i];
  return sum;
}

template <typename T, typename Widen>
void rows_times_tokens(const T* w, std::int64_t rows, int cols, const float* x, int tokens,
                       float* y, std::int64_t y_stride, Widen widen_one) {
  for (std::int64_t r = 0; r < rows; ++r)
    for (int t = 0; t < tokens; ++t)
      y[t * y_stride + r] = dot_row(w + r * cols, x + std::int64_t(t) * cols, cols, widen_one);
}
#endif

}  // namespace

void float_rows(const TensorView& w, std::int64_t r0, std::int64_t rows, const float* x, int tokens,
                float* y, std::int64_t y_stride) {
  const int cols = static_cast<int>(w.shape[1]);
  const auto* f32 = static_cast<const float*>(w.data) + r0 * cols;
  const auto* u16 = static_cast<const std::uint16_t*>(w.data) + r0 * cols;
#if MOESCOPE_FLOAT_ROWS_AVX2
#if MOESCOPE_FLOAT_ROWS_AVX512
  // A token alone too: converting 16 weights per instruction, not 8, made bench-8k's BF16
  // decode 6-12% faster at 1 thread (at 2 it is the memory's speed either way).
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) {
    const FloatRowType type = w.dtype == DType::f32    ? FloatRowType::f32
                              : w.dtype == DType::bf16 ? FloatRowType::bf16
                                                       : FloatRowType::f16;
    return float_rows_avx512(type, w.dtype == DType::f32 ? static_cast<const void*>(f32) : u16,
                             rows, cols, x, tokens, y, y_stride);
  }
#endif
  switch (w.dtype) {
    case DType::f32:
      return rows_times_tokens<F32>(f32, rows, cols, x, tokens, y, y_stride);
    case DType::bf16:
      return rows_times_tokens<Bf16>(u16, rows, cols, x, tokens, y, y_stride);
    default:  // f16
      return rows_times_tokens<F16>(u16, rows, cols, x, tokens, y, y_stride);
  }
#else
  switch (w.dtype) {
    case DType::f32:
      return rows_times_tokens(f32, rows, cols, x, tokens, y, y_stride, [](float v) { return v; });
    case DType::bf16:
      return rows_times_tokens(u16, rows, cols, x, tokens, y, y_stride, bf16_to_f32);
    default:  // f16
      return rows_times_tokens(u16, rows, cols, x, tokens, y, y_stride, f16_to_f32);
  }
#endif
}

float dot_f32(const float* a, const float* b, int n) {
#if MOESCOPE_FLOAT_ROWS_AVX2
  float out[1][1];
  dots<F32, 1, 1>(&a, &b, n, out);
  return out[0][0];
#else
  return dot_row(a, b, n, [](float v) { return v; });
#endif
}

void dot_f32_rows(const float* const* a, int na, const float* const* b, int nb, int n, float* out) {
#if MOESCOPE_FLOAT_ROWS_AVX2
  tiles<F32, false>([&](std::int64_t r) { return a[r]; }, na, [&](int j) { return b[j]; }, nb, n,
                    [&](std::int64_t r, int j, float v) { out[r * nb + j] = v; });
#else
  for (int r = 0; r < na; ++r)
    for (int j = 0; j < nb; ++j) out[r * nb + j] = dot_f32(a[r], b[j], n);
#endif
}

}  // namespace moescope::cpu
