#pragma once
// Q8_0, Q4_0, Q4_K and Q6_K rows 8 at a time, interleaved: register g of a sub-block holds the
// 8 rows' weights 4g..4g + 3 (as SubBlocks::bytes gives them, cpu/sub_blocks.h), so a
// broadcast of a token's 4 activations meets all 8 rows in one byte dot product, with no
// sums across lanes and one scale product per 8 rows. The CPU backend keeps such a copy
// of its quantized matrices (cpu/interleaved_weights.h); a batch on rows without one
// interleaves 8 rows at a time as it goes.
//
// A group of 8 rows, block by block (f16 scales, the rows in order):
//   Q8_0  q[8][32]: register g                                            272 bytes
//         d[8]
//   Q4_0  q[4][32]: register g in the low nibbles, g + 4 in the high ones  144 bytes
//         d[8]
//   Q4_K  q[8][4][32]: sub-block s as Q4_0's                             1184 bytes
//         d[8], dmin[8], sc[8][8], m[8][8]: sub-block s's 6-bit scale and minimum of row r
//         at [s][r]
//   Q6_K  q[8][6][32]: sub-block s's low 4 bits as Q4_0's, then its top 2 bits, register
//         g's in bits 2(g % 4) of [4 + g / 4]                                1680 bytes
//         d[8], sc[16][8]: the scale of weights 16i..16i + 15 of row r at [i][r]
// Q8_0, Q4_0 and Q6_K take as many bytes as the rows themselves; Q4_K 3% more.
#include <cstddef>
#include <cstdint>

#include "cpu/integer_dot.h"
#include "model/dtype.h"

namespace moescope::cpu {

constexpr int interleaved_group_rows = 8;

// Bytes of one group of 8 rows of `cols` weights, or 0 where `dtype` has no interleaved
// form in this build (it needs AVX2 and FMA).
std::int64_t interleaved_group_bytes(DType dtype, std::int64_t cols);

// Rows [0, 8 * groups) of w (n_blocks blocks a row, one row after another) interleaved
// into `out` (groups * interleaved_group_bytes bytes).
template <typename Block>
void interleave_rows(const Block* w, int n_blocks, std::int64_t groups, std::byte* out);

// integer_rows (cpu/integer_dot.h) for rows [0, 8 * groups) from their interleaved form:
// the same arguments, the same promise, and the same bits as the rows' own products.
template <typename Block>
void interleaved_products(const std::byte* groups_data, int n_blocks, std::int64_t groups,
                          const ActivationBlock* x, int tokens, std::int64_t stride, float* y,
                          std::int64_t y_stride);

}  // namespace moescope::cpu
