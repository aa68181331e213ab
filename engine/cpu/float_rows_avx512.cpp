#include "cpu/float_rows_avx512.h"

#include <immintrin.h>

#include "cpu/prefetch_ahead.h"

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which it then reports as
// (maybe) uninitialised where they are inlined (GCC bug 105593, fixed in GCC 13).
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace moescope::cpu {
namespace {

constexpr int lanes = 16;

struct F32 {
  using T = float;
  static __m512 sixteen(const float* p) { return _mm512_loadu_ps(p); }
  static float one(float v) { return v; }
};
struct Bf16 {
  using T = std::uint16_t;
  static __m512 sixteen(const std::uint16_t* p) {
    const __m512i wide =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static float one(std::uint16_t v) {
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(int(std::uint32_t(v) << 16))));
  }
};
struct F16 {  // the CPU's own conversion, as in float_rows.cpp
  using T = std::uint16_t;
  static __m512 sixteen(const std::uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static float one(std::uint16_t v) { return _cvtsh_ss(v); }
};

// float_rows.cpp's tree: lane l and l + 8, then l + 4, l + 2, l + 1.
// (Through memory: GCC 12's own extract and cast intrinsics warn of uninitialised values.)
float sum_lanes(__m512 acc) {
  alignas(64) float lane[lanes];
  _mm512_store_ps(lane, acc);
  const __m256 eight = _mm256_add_ps(_mm256_load_ps(lane), _mm256_load_ps(lane + 8));
  __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
  four = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(four, _mm_movehdup_ps(four)));
}

// Two shuffles of x and y (by 128-bit quarters or within them), added: one step of
// sum_lanes for the accumulators they hold.
template <int first, int second>
__m512 fold_quarters(__m512 x, __m512 y) {
  return _mm512_add_ps(_mm512_shuffle_f32x4(x, y, first), _mm512_shuffle_f32x4(x, y, second));
}
template <int first, int second>
__m512 fold_within(__m512 x, __m512 y) {
  return _mm512_add_ps(_mm512_shuffle_ps(x, y, first), _mm512_shuffle_ps(x, y, second));
}

// sum_lanes of 16 accumulators at once, in registers: the same additions, each
// accumulator's lanes only ever added to its own, with the shuffles setting accumulators
// side by side. Lane 4k + m of the result is accumulator 4m + k's sum.
[[gnu::always_inline]] inline __m512 sum_lanes_of_16(const __m512* a) {
  __m512 eight[8], four[4], two[2];
#pragma GCC unroll 8
  for (int p = 0; p < 8; ++p)  // lane l + lane l + 8: the halves of two accumulators
    eight[p] = fold_quarters<0x44, 0xee>(a[2 * p], a[2 * p + 1]);
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p)  // + l + 4: quarter k is accumulator 4p + k's
    four[p] = fold_quarters<0x88, 0xdd>(eight[2 * p], eight[2 * p + 1]);
  for (int p = 0; p < 2; ++p)  // + l + 2: quarter k holds accumulators 8p + k and 8p + 4 + k
    two[p] = fold_within<0x44, 0xee>(four[2 * p], four[2 * p + 1]);
  return fold_within<0x88, 0xdd>(two[0], two[1]);  // + l + 1
}

// The sums of n accumulators, 16 at a time (the last 16 filled with zeros, which meet only
// each other). Inlined, with every loop unrolled, so that the accumulators stay in
// registers: taking their address kept all of them on the stack.
template <int n>
[[gnu::always_inline]] inline void sum_lanes_of(const __m512* acc, float* sums) {
#pragma GCC unroll 2
  for (int c = 0; c < n; c += 16) {
    __m512 sixteen[16];
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) sixteen[k] = c + k < n ? acc[c + k] : _mm512_setzero_ps();
    alignas(64) float lane[lanes];
    _mm512_store_ps(lane, sum_lanes_of_16(sixteen));
    for (int k = 0; k < 4; ++k)
      for (int m = 0; m < 4; ++m)
        if (c + 4 * m + k < n) sums[c + 4 * m + k] = lane[4 * k + m];
  }
}

// out[r][t] = w[r] · x[t] for R rows and T tokens: R T accumulators, R weights, one
// activation.
template <class D, int R, int T>
void dots(const typename D::T* const* w, const float* const* x, int cols, float (*out)[T]) {
  __m512 acc[R][T];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 6
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  int i = 0;
  for (; i + lanes <= cols; i += lanes) {
    if constexpr (R == 1 && T == 1) prefetch_ahead(w[0] + i);
    __m512 wv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) wv[r] = D::sixteen(w[r] + i);
#pragma GCC unroll 6
    for (int t = 0; t < T; ++t) {
      const __m512 xv = _mm512_loadu_ps(x[t] + i);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  float sums[R][T];
  if constexpr (R * T >= 4) {
    sum_lanes_of<R * T>(&acc[0][0], &sums[0][0]);
  } else {
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) sums[r][t] = sum_lanes(acc[r][t]);
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) {
      float s = sums[r][t];
      for (int j = i; j < cols; ++j) s = __builtin_fmaf(D::one(w[r][j]), x[t][j], s);
      out[r][t] = s;
    }
}

template <class D, int R, int T>
void pass(const typename D::T* w, int cols, const float* x, float* y, std::int64_t y_stride,
          std::int64_t r, int t) {
  const typename D::T* wr[R];
  const float* xt[T];
  for (int i = 0; i < R; ++i) wr[i] = w + (r + i) * cols;
  for (int j = 0; j < T; ++j) xt[j] = x + std::int64_t(t + j) * cols;
  float out[R][T];
  dots<D, R, T>(wr, xt, cols, out);
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) y[(t + j) * y_stride + r + i] = out[i][j];
}

// Tokens in sixes, then the ones left over.
template <class D, int R>
void row_block(const typename D::T* w, int cols, const float* x, int tokens, float* y,
               std::int64_t y_stride, std::int64_t r) {
  int t = 0;
  for (; t + 6 <= tokens; t += 6) pass<D, R, 6>(w, cols, x, y, y_stride, r, t);
  switch (tokens - t) {
    case 5:
      return pass<D, R, 5>(w, cols, x, y, y_stride, r, t);
    case 4:
      return pass<D, R, 4>(w, cols, x, y, y_stride, r, t);
    case 3:
      return pass<D, R, 3>(w, cols, x, y, y_stride, r, t);
    case 2:
      return pass<D, R, 2>(w, cols, x, y, y_stride, r, t);
    case 1:
      return pass<D, R, 1>(w, cols, x, y, y_stride, r, t);
    default:
      return;
  }
}

// Rows in fours against a batch, then one at a time; a token alone reads its rows one at a
// time, one stream for the prefetcher, as in float_rows.cpp.
template <class D>
void rows_times_tokens(const void* weights, std::int64_t rows, int cols, const float* x, int tokens,
                       float* y, std::int64_t y_stride) {
  const auto* w = static_cast<const typename D::T*>(weights);
  std::int64_t r = 0;
  if (tokens > 1)
    for (; r + 4 <= rows; r += 4) row_block<D, 4>(w, cols, x, tokens, y, y_stride, r);
  for (; r < rows; ++r) row_block<D, 1>(w, cols, x, tokens, y, y_stride, r);
}

}  // namespace

void float_rows_avx512(FloatRowType type, const void* w, std::int64_t rows, int cols,
                       const float* x, int tokens, float* y, std::int64_t y_stride) {
  switch (type) {
    case FloatRowType::f32:
      return rows_times_tokens<F32>(w, rows, cols, x, tokens, y, y_stride);
    case FloatRowType::bf16:
      return rows_times_tokens<Bf16>(w, rows, cols, x, tokens, y, y_stride);
    case FloatRowType::f16:
      return rows_times_tokens<F16>(w, rows, cols, x, tokens, y, y_stride);
  }
}

}  // namespace moescope::cpu
