#pragma once
// Float weight rows (f32, f16, bf16, widened exactly in registers) times several tokens.
// Every product sums in 16 lanes (column i in lane i % 16), then the lanes as a tree, then
// the columns past the last whole 16: one formula whatever the rows and tokens that share
// a pass, so a token's result is the same bits alone or in a batch.
#include <cstdint>

#include "model/tensor_view.h"

namespace moescope::cpu {

// y[t * y_stride + i] = w[r0 + i, :] · x[t * cols + :] for rows i < rows and tokens
// t < tokens, cols = w.shape[1]. With AVX2 two rows meet three tokens at a time, so a
// weight is widened once per three tokens and an activation loaded once per two rows; on a
// CPU with AVX-512 every call runs there, batches four rows and six tokens at a time
// (cpu/float_rows_avx512.h).
void float_rows(const TensorView& w, std::int64_t r0, std::int64_t rows, const float* x, int tokens,
                float* y, std::int64_t y_stride);

// a · b over n floats, in the same lanes and order.
float dot_f32(const float* a, const float* b, int n);

// out[r * nb + j] = dot_f32(a[r], b[j], n) for r < na and j < nb, the same bits, with each
// row of a loaded once per three b's (attention's keys against a block of queries).
void dot_f32_rows(const float* const* a, int na, const float* const* b, int nb, int n, float* out);

}  // namespace moescope::cpu
