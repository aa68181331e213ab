#include "cpu/cpu_ops.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <type_traits>
#include <vector>

#include "cpu/float_rows.h"
#include "cpu/integer_dot.h"
#include "cpu/interleaved_rows.h"
#include "model/quant_blocks.h"
#include "run/vector_exp.h"

namespace moescope::cpu {
namespace {

// Calls f(row_range) for w's storage dtype, row_range(r0, r1) writing rows [r0, r1) of w
// times the n tokens of x (n rows of w.shape[1]) to y [n, w.shape[0]]. Quantized rows read x
// as quantized into `a` (quantize_activations), which must outlive row_range.
template <typename F>
void with_row_range(const TensorView& w, const float* x, const ActivationBlock* a, int n, float* y,
                    F f) {
  const std::int64_t rows = w.shape[0], cols = w.shape[1];
  switch (w.dtype) {
    case DType::f32:
    case DType::bf16:
    case DType::f16:
      return f([=, &w](std::int64_t r0, std::int64_t r1) {
        float_rows(w, r0, r1 - r0, x, n, y + r0, rows);
      });
    default:
      return with_blocks(w.dtype, w.data, [&](const auto* blocks) {
        using Block = std::remove_cvref_t<decltype(*blocks)>;
        assert(cols % Block::elements == 0);
        const int per_row = int(cols / Block::elements);
        const std::int64_t per_token = cols / 32;  // activation blocks
        const auto* interleaved = static_cast<const std::byte*>(w.interleaved);
        const std::int64_t group_bytes = interleaved_group_bytes(w.dtype, cols);
        // A chunk's rows stay in L1 while they meet the tokens a few at a time.
        f([=](std::int64_t r0, std::int64_t r1) {
          integer_rows(
              blocks + r0 * per_row, per_row, r1 - r0, a, n, per_token, y + r0, rows,
              interleaved ? interleaved + r0 / interleaved_group_rows * group_bytes : nullptr);
        });
      });
  }
}

// Rows handed to a thread at a time: few enough calls per row range to keep the
// per-call cost out of decode, small enough to share a few hundred rows between threads.
constexpr std::int64_t chunk_rows = 16;
static_assert(chunk_rows % interleaved_group_rows == 0, "a chunk starts a group");

std::int64_t chunks_of(std::int64_t rows) {
  return (rows + chunk_rows - 1) / chunk_rows;
}

// Below this many weight-times-token products a parallel region costs more than it saves.
constexpr std::int64_t parallel_work = 32768;
// Below this many activations, quantizing them in parallel costs more than it saves.
constexpr std::int64_t parallel_quantize = 16384;

// x [n, cols] quantized into `out`, token by token (in parallel when `parallel`).
void quantize_rows(const float* x, int n, std::int64_t cols, std::vector<ActivationBlock>& out,
                   bool parallel) {
  const std::int64_t per_token = cols / 32;
  out.resize(std::size_t(n * per_token));
  ActivationBlock* blocks = out.data();  // the caller's, in the region
#pragma omp parallel for schedule(static) if (parallel)
  for (int t = 0; t < n; ++t) quantize_activations(x + t * cols, int(cols), blocks + t * per_token);
}

}  // namespace

// Parallel over chunks of weight rows; a quantized row is unpacked once for several
// tokens (integer_dot.h), a float row widened once per three (float_rows.h). All use the same row
// ranges, and a token's result does not depend on how many share its pass or its chunk, so every
// row of matmul and matmul_all equals matvec's bit for bit (a pre-widened copy would let the
// compiler contract differently).
void matmul(const TensorView& w, const float* x, int n, float* y) {
  assert(w.shape.size() == 2);
  const std::int64_t rows = w.shape[0], cols = w.shape[1];
  thread_local std::vector<ActivationBlock> quantized;
  if (is_quantized(w.dtype)) quantize_rows(x, n, cols, quantized, cols * n > parallel_quantize);
  with_row_range(w, x, quantized.data(), n, y, [&](auto row_range) {
    const std::int64_t chunks = chunks_of(rows);
#pragma omp parallel for schedule(static) if (rows * cols * std::int64_t(n) > parallel_work)
    for (std::int64_t c = 0; c < chunks; ++c)
      row_range(c * chunk_rows, std::min(rows, (c + 1) * chunk_rows));
  });
}

void matvec(const TensorView& w, const float* x, float* y) {
  matmul(w, x, 1, y);
}

void matmul_all(std::span<const Product> products) {
  using RowRange = std::function<void(std::int64_t, std::int64_t)>;
  thread_local std::vector<std::vector<ActivationBlock>> quantized;
  if (quantized.size() < products.size()) quantized.resize(products.size());
  // The quantized products' activations, in parallel: one quantization serves every product
  // that reads the same rows (an expert's gate and up), as it gives the same blocks.
  std::vector<std::size_t> source(products.size());  // the product whose quantization it reads
  std::vector<std::size_t> to_quantize;
  std::int64_t values = 0;
  for (std::size_t i = 0; i < products.size(); ++i) {
    const Product& p = products[i];
    source[i] = i;
    if (!is_quantized(p.w->dtype)) continue;
    if (i > 0 && is_quantized(products[i - 1].w->dtype) && products[i - 1].x == p.x &&
        products[i - 1].n == p.n && products[i - 1].w->shape[1] == p.w->shape[1]) {
      source[i] = source[i - 1];
      continue;
    }
    to_quantize.push_back(i);
    values += p.w->shape[1] * p.n;
  }
  std::vector<std::vector<ActivationBlock>>& blocks = quantized;  // this thread's, in the region
#pragma omp parallel for schedule(dynamic) if (values > parallel_quantize)
  for (std::size_t j = 0; j < to_quantize.size(); ++j) {
    const Product& p = products[to_quantize[j]];
    quantize_rows(p.x, p.n, p.w->shape[1], blocks[to_quantize[j]], false);
  }

  std::vector<RowRange> ranges;
  std::vector<std::int64_t> first_chunk = {0};  // of each product, counting all before it
  std::int64_t work = 0;
  for (std::size_t i = 0; i < products.size(); ++i) {
    const Product& p = products[i];
    assert(p.w->shape.size() == 2);
    with_row_range(*p.w, p.x, blocks[source[i]].data(), p.n, p.y,
                   [&](auto row_range) { ranges.emplace_back(row_range); });
    first_chunk.push_back(first_chunk.back() + chunks_of(p.w->shape[0]));
    work += p.w->shape[0] * p.w->shape[1] * p.n;
  }
  const std::int64_t total = first_chunk.back();
#pragma omp parallel for schedule(static) if (work > parallel_work)
  for (std::int64_t g = 0; g < total; ++g) {
    const std::size_t i = std::size_t(std::upper_bound(first_chunk.begin(), first_chunk.end(), g) -
                                      first_chunk.begin() - 1);
    const std::int64_t r0 = (g - first_chunk[i]) * chunk_rows;
    ranges[i](r0, std::min(products[i].w->shape[0], r0 + chunk_rows));
  }
}

void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
  double ss = 0.0;
  for (int i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(ss / n + eps));
  for (int i = 0; i < n; ++i) out[i] = x[i] * scale * weight[i];
}

void rope_angles(int head_dim, float position, float theta, float* cos, float* sin) {
  for (int i = 0; i < head_dim / 2; ++i) {
    const double inv_freq = std::pow(double(theta), -2.0 * i / head_dim);
    const double angle = double(position) * inv_freq;
    cos[i] = static_cast<float>(std::cos(angle));
    sin[i] = static_cast<float>(std::sin(angle));
  }
}

void rope_rotate(float* v, int n_heads, int head_dim, const float* cos, const float* sin) {
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* head = v + h * head_dim;
    for (int i = 0; i < half; ++i) {
      const float x1 = head[i], x2 = head[i + half];
      head[i] = x1 * cos[i] - x2 * sin[i];
      head[i + half] = x2 * cos[i] + x1 * sin[i];
    }
  }
}

void rope(float* v, int n_heads, int head_dim, float position, float theta) {
  std::vector<float> cos(head_dim / 2), sin(head_dim / 2);
  rope_angles(head_dim, position, theta, cos.data(), sin.data());
  rope_rotate(v, n_heads, head_dim, cos.data(), sin.data());
}

void softmax(float* x, int n) {
  const float max = *std::max_element(x, x + n);
  for (int i = 0; i < n; ++i) x[i] -= max;
  exp_values(x, x, n);
  // Four partial sums, so that the additions need not wait for each other.
  double sums[4] = {};
  int i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) sums[j] += x[i + j];
  for (; i < n; ++i) sums[i % 4] += x[i];
  const float inv = static_cast<float>(1.0 / ((sums[0] + sums[1]) + (sums[2] + sums[3])));
  for (int k = 0; k < n; ++k) x[k] *= inv;
}

void silu_mul(float* gate, const float* up, int n) {
  constexpr int chunk = 256;
  float e[chunk];
  for (int i0 = 0; i0 < n; i0 += chunk) {
    const int m = std::min(chunk, n - i0);
    float* g = gate + i0;
    for (int i = 0; i < m; ++i) e[i] = -g[i];
    exp_values(e, e, m);
    for (int i = 0; i < m; ++i) g[i] = g[i] / (1.0f + e[i]) * up[i0 + i];
  }
}

}  // namespace moescope::cpu
