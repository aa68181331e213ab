#pragma once
// Integer dot products for the blocks with one scale per 32 weights (Q8_0, Q4_0):
// the activations are quantized once per product to int8 in blocks of 32 (d =
// max|x| / 127, q = round(x / d)), each block's products are summed in int32
// (exact; AVX2 where the build has it, else a plain loop with the same result), and
// only the sum meets the two scales. The error this adds is at most half a step of
// the activations' quantization per value: |x - d q| <= d / 2.
#include <cstdint>
#include <vector>

#include "model/quant_blocks.h"

namespace moescope::cpu {

struct ActivationBlock {
  float d;  // NaN when the block held NaN or infinity, so the product is NaN too
  std::int8_t q[32];
};

// x[n] (n a multiple of 32) as n / 32 blocks, appended to `out`.
void quantize_activations(const float* x, int n, std::vector<ActivationBlock>& out);

// Row w[n_blocks] times the quantized activations x[n_blocks].
float integer_dot(const BlockQ8_0* w, const ActivationBlock* x, int n_blocks);
float integer_dot(const BlockQ4_0* w, const ActivationBlock* x, int n_blocks);

}  // namespace moescope::cpu
