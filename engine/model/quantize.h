#pragma once
// f32 weights to llama.cpp's Q8_0 and Q4_0 blocks (model/quant_blocks.h), bit for bit as
// gguf-py's gguf.quants.quantize writes them (tests/engine/model/test_gguf_export.cpp):
// what `moescope-cli quantize` stores.
#include <cstdint>

#include "model/dtype.h"

namespace moescope {

// Whether quantize_row writes `t`.
bool can_quantize(DType t);

// Quantizes n weights (a multiple of t's 32-weight block) into n / 32 blocks at `out`.
// Q8_0: d = max|x| / 127, q = round(x / d) (halves away from zero). Q4_0: d = m / -8 for
// the m of largest magnitude (the first such), q = min(15, trunc(x / d + 8.5)). Both
// scales stored as f16 (nearest even); every step in f32 as gguf-py's numpy computes it.
void quantize_row(DType t, const float* x, std::int64_t n, void* out);

}  // namespace moescope
