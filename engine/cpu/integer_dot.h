#pragma once
// Integer dot products for llama.cpp's blocks: the activations are quantized once per
// product to int8 in blocks of 32 (d = max|x| / 127, q = round(x / d)), each (sub-)block's
// products are summed in int32 (exact; AVX2 where the build has it, else a plain loop
// with the same result), and only the sums meet the scales. The error this adds is at
// most half a step of the activations' quantization per value: |x - d q| <= d / 2.
#include <cstddef>
#include <cstdint>

#include "model/quant_blocks.h"

namespace moescope::cpu {

struct ActivationBlock {
  float d;  // NaN when the block held NaN or infinity, so the product is NaN too
  std::int8_t q[32];
  // The sum of q (exact in a float): Q4_0's and Q4_K's minimums meet the activations only
  // through it, and a float needs no conversion in the loop.
  float sum;
};

// x[n] (n a multiple of 32) as the n / 32 blocks out[0 .. n / 32).
void quantize_activations(const float* x, int n, ActivationBlock* out);

// Rows [0, rows) of w, n_blocks blocks each and one after another, times the quantized
// activations of `tokens` tokens, token t's at x + t * stride (Block::elements / 32
// activation blocks per weight block): y[t * y_stride + r]. A weight block is unpacked once
// for several tokens, and a token's result is the same bits whatever `tokens` is and
// whether the rows come from `interleaved`, their copy 8 rows at a time
// (cpu/interleaved_rows.h; null where there is none), or from w alone. A range of
// rows per call keeps the per-row cost in one loop.
// Defined for BlockQ8_0, BlockQ4_0, BlockQ4_K and BlockQ6_K, in cpu/sub_block_dot.cpp.
template <typename Block>
void integer_rows(const Block* w, int n_blocks, std::int64_t rows, const ActivationBlock* x,
                  int tokens, std::int64_t stride, float* y, std::int64_t y_stride,
                  const std::byte* interleaved = nullptr);

}  // namespace moescope::cpu
