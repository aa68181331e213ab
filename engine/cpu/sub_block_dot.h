#pragma once
// Q8_0, Q4_0 and Q4_K as sub-blocks of 32 weights with one scale each (Q4_K: and one
// minimum), against activations quantized in blocks of 32 (cpu/integer_dot.h).
#include <cstddef>
#include <cstdint>

#include "cpu/integer_dot.h"

namespace moescope::cpu {

// integer_rows for these blocks: the same arguments and the same promise.
template <typename Block>
void sub_block_rows(const Block* w, int n_blocks, std::int64_t rows, const ActivationBlock* x,
                    int tokens, std::int64_t stride, float* y, std::int64_t y_stride,
                    const std::byte* interleaved);

}  // namespace moescope::cpu
