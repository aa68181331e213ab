#include "cpu/attention.h"

#include <omp.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MOESCOPE_ATTENTION_AVX2 1
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/cpu_ops.h"
#include "cpu/float_rows.h"

namespace moescope::cpu {
namespace {

// A prompt's queries go in blocks of this many, so that each cache row read feeds them all:
// one query at a time read the whole cache (2 MiB a layer at 512 positions on bench-8k, out
// of L2) once per query, which made attention a third of the prompt's time.
constexpr int query_block = 6;
// Keys a block scores at once, head by head (a token alone: one key, all heads, as below).
constexpr int key_chunk = 32;
// Heads a block of a prompt's queries takes: their outputs (6 KiB for heads of 64) stay in L1.
constexpr int prompt_heads = 4;

// One step of an output column's sum over positions: fused where the CPU has FMA, as the
// vector loops below, so a column's bits do not depend on which loop ran it.
inline float weigh(float sum, float a, float v) {
#if defined(__FMA__)
  return std::fma(a, v, sum);
#else
  return sum + a * v;
#endif
}

#if MOESCOPE_ATTENTION_AVX2
// Columns [i, i + 8 W) of Q queries' outputs o[j] += sum of a[j][t] v[t] over t, in t order:
// query j sees t < seen + j. The sums stay in registers while v's rows stream past, where a
// sum kept in memory waited on its own store (and on loads 4 KiB apart, which the CPU takes
// for the same address) at every step.
template <int Q, int W>
void weigh_columns(float* const* o, const float* const* a, const float* v, int v_stride, int seen,
                   int i) {
  __m256 sum[Q][W];
  for (int j = 0; j < Q; ++j)
    for (int w = 0; w < W; ++w) sum[j][w] = _mm256_loadu_ps(o[j] + i + 8 * w);
  const auto step = [&](int t, int from) {
    __m256 vt[W];
    for (int w = 0; w < W; ++w) vt[w] = _mm256_loadu_ps(v + std::size_t(t) * v_stride + i + 8 * w);
    for (int j = from; j < Q; ++j) {
      const __m256 aj = _mm256_broadcast_ss(a[j] + t);
      for (int w = 0; w < W; ++w) sum[j][w] = _mm256_fmadd_ps(aj, vt[w], sum[j][w]);
    }
  };
  for (int t = 0; t < seen; ++t) step(t, 0);
  for (int t = seen; t < seen + Q - 1; ++t) step(t, t - seen + 1);
  for (int j = 0; j < Q; ++j)
    for (int w = 0; w < W; ++w) _mm256_storeu_ps(o[j] + i + 8 * w, sum[j][w]);
}

template <int Q>
void weigh_values(float* const* o, const float* const* a, const float* v, int v_stride, int seen,
                  int width) {
  int i = 0;
  for (; i + 16 <= width; i += 16) weigh_columns<Q, 2>(o, a, v, v_stride, seen, i);
  for (; i + 8 <= width; i += 8) weigh_columns<Q, 1>(o, a, v, v_stride, seen, i);
  for (; i < width; ++i)
    for (int j = 0; j < Q; ++j)
      for (int t = 0; t < seen + j; ++t)
        o[j][i] = weigh(o[j][i], a[j][t], v[std::size_t(t) * v_stride + i]);
}

// weigh_values<Q> for Q = nq, 2 to Top.
template <int Top = query_block>
void weigh_block(int nq, float* const* o, const float* const* a, const float* v, int v_stride,
                 int seen, int width) {
  if constexpr (Top > 1) {
    if (nq == Top) return weigh_values<Top>(o, a, v, v_stride, seen, width);
    weigh_block<Top - 1>(nq, o, a, v, v_stride, seen, width);
  }
}
#endif

// Heads [first, last) of nq queries: query j (rows of out and q n_heads * head_dim apart) sits
// at position p0 + j and attends to positions [0, p0 + j]. Its scores are
// scratch[(j * n_heads + h) * (p0 + nq) + t]. One query steps through the cache a row at a
// time, reading the block's part of each row: head by head every step jumped a whole row
// (kv_dim floats, 4 KiB on bench-8k), which the prefetcher does not follow across pages, a
// fifth of the decode time at 256 positions. A query's result does not depend on the block
// or the heads it shares.
void attend(float* out, const float* q, int nq, int p0, const float* k_cache, const float* v_cache,
            int first, int last, int n_heads, int n_kv_heads, int head_dim, float* scratch) {
  const int q_dim = n_heads * head_dim, kv_dim = n_kv_heads * head_dim;
  const int group = n_heads / n_kv_heads, n_max = p0 + nq;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const auto kv = [&](const float* cache, int t, int h) {
    return cache + std::size_t(t) * kv_dim + (h / group) * head_dim;
  };
  const auto scores = [&](int j, int h) {
    return scratch + (std::size_t(j) * n_heads + h) * n_max;
  };
  const auto output = [&](int j, int h) { return out + std::size_t(j) * q_dim + h * head_dim; };
  const int chunk = nq > 1 ? key_chunk : 1;
  const float* keys[key_chunk];
  const float* queries[query_block];
  float dots[key_chunk * query_block];
  for (int t0 = 0; t0 < n_max; t0 += chunk) {
    const int m = std::min(chunk, n_max - t0);
    for (int h = first; h < last; ++h) {
      for (int i = 0; i < m; ++i) keys[i] = kv(k_cache, t0 + i, h);
      for (int j = 0; j < nq; ++j) queries[j] = q + std::size_t(j) * q_dim + h * head_dim;
      dot_f32_rows(keys, m, queries, nq, head_dim, dots);
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < nq; ++j) scores(j, h)[t0 + i] = dots[i * nq + j] * scale;
    }
  }
  for (int j = 0; j < nq; ++j)
    for (int h = first; h < last; ++h) {
      softmax(scores(j, h), p0 + j + 1);
      std::fill(output(j, h), output(j, h) + head_dim, 0.0f);
    }
#if MOESCOPE_ATTENTION_AVX2
  if (nq > 1) {
    for (int h = first; h < last; ++h) {
      float* o[query_block];
      const float* a[query_block];
      for (int j = 0; j < nq; ++j) {
        o[j] = output(j, h);
        a[j] = scores(j, h);
      }
      const float* v = kv(v_cache, 0, h);
      weigh_block(nq, o, a, v, kv_dim, p0 + 1, head_dim);
    }
    return;
  }
#endif
  for (int t = 0; t < n_max; ++t)
    for (int h = first; h < last; ++h) {
      const float* vt = kv(v_cache, t, h);
      for (int j = std::max(0, t - p0); j < nq; ++j) {
        const float a = scores(j, h)[t];
        float* o = output(j, h);
        for (int i = 0; i < head_dim; ++i) o[i] = weigh(o[i], a, vt[i]);
      }
    }
}

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr std::int64_t parallel_attention = 32768;

int blocks_of(int n, int size) {
  return (n + size - 1) / size;
}

}  // namespace

void attention(float* out, const float* q, const float* k_cache, const float* v_cache, int n_pos,
               int n_heads, int n_kv_heads, int head_dim, float* scratch) {
  const bool parallel = std::int64_t(n_heads) * n_pos * head_dim > parallel_attention;
  const int threads = parallel ? std::min(omp_get_max_threads(), n_heads) : 1;
  const int per_block = blocks_of(n_heads, threads);
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel)
  for (int first = 0; first < n_heads; first += per_block)
    attend(out, q, 1, n_pos - 1, k_cache, v_cache, first, std::min(n_heads, first + per_block),
           n_heads, n_kv_heads, head_dim, scratch);
}

void causal_attention(float* out, const float* q, int n, int pos0, const float* k_cache,
                      const float* v_cache, int n_heads, int n_kv_heads, int head_dim) {
  const int q_dim = n_heads * head_dim;
  const std::int64_t work = std::int64_t(n) * n_heads * (pos0 + n) * head_dim;
  const int threads = work > parallel_attention ? omp_get_max_threads() : 1;
  const int query_blocks = blocks_of(n, query_block);
  // A few heads a block for a prompt; for a query or a few, the heads split between the
  // threads, each reading its part of a cache row (more blocks read the cache in more passes).
  const int per_block =
      query_blocks >= 2 * threads ? std::min(n_heads, prompt_heads) : blocks_of(n_heads, threads);
  const int head_blocks = blocks_of(n_heads, per_block);
  // Later queries see more positions: one item at a time keeps the threads even.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (int item = 0; item < query_blocks * head_blocks; ++item) {
    const int j0 = item / head_blocks * query_block, first = item % head_blocks * per_block;
    const int nq = std::min(query_block, n - j0);
    thread_local std::vector<float> scratch;
    scratch.resize(std::size_t(query_block) * n_heads * (pos0 + n));
    attend(out + std::size_t(j0) * q_dim, q + std::size_t(j0) * q_dim, nq, pos0 + j0, k_cache,
           v_cache, first, std::min(n_heads, first + per_block), n_heads, n_kv_heads, head_dim,
           scratch.data());
  }
}

}  // namespace moescope::cpu
