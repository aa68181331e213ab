#pragma once
// float_rows' kernel on AVX-512, where the CPU has it: one register holds a product's 16
// lanes, so 32 registers hold 4 rows times 6 tokens, and each activation loaded feeds 4
// products where AVX2's 16 registers allow 2; a token alone widens 16 weights at a time.
// Same lanes, order and tree as float_rows.h, so the bits are those of the AVX2 loop.
// Only <cstdint> here: this file's code is built for AVX-512, and an inline function it
// shared would be linked into machines without it.
#include <cstdint>

namespace moescope::cpu {

enum class FloatRowType { f32, bf16, f16 };

// Call only where the CPU has AVX-512F (float_rows checks).
// y[t * y_stride + i] = w[i, :] · x[t * cols + :] for rows i < rows and tokens t < tokens.
void float_rows_avx512(FloatRowType type, const void* w, std::int64_t rows, int cols,
                       const float* x, int tokens, float* y, std::int64_t y_stride);

}  // namespace moescope::cpu
