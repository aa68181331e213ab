// Compiled with -ffp-contract=off (CMakeLists): Q4_0's x * id + 8.5 must round twice, as
// numpy's two f32 operations do, not once as a fused multiply-add would.
#include "model/quantize.h"

#include <algorithm>
#include <cmath>

#include "model/quant_blocks.h"

namespace moescope {
namespace {

// gguf-py: id = 0 where d == 0, else 1 / d (in f32).
float inverse(float d) {
  return d == 0.0f ? 0.0f : 1.0f / d;
}

void quantize(const float* x, BlockQ8_0& b) {
  float amax = 0.0f;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::abs(x[i]));
  const float d = amax / 127.0f, id = inverse(d);
  b.d = f32_to_f16(d);
  for (int i = 0; i < 32; ++i) b.qs[i] = std::int8_t(std::round(x[i] * id));
}

void quantize(const float* x, BlockQ4_0& b) {
  int largest = 0;  // numpy's argmax: the first of equal magnitudes
  for (int i = 1; i < 32; ++i)
    if (std::abs(x[i]) > std::abs(x[largest])) largest = i;
  const float d = x[largest] / -8.0f, id = inverse(d);
  b.d = f32_to_f16(d);
  int q[32];
  for (int i = 0; i < 32; ++i) {
    const float shifted = x[i] * id + 8.5f;
    q[i] = std::min(15, int(std::trunc(shifted)));
  }
  for (int j = 0; j < 16; ++j) b.qs[j] = std::uint8_t(q[j] | (q[j + 16] << 4));
}

template <typename Block>
void quantize_blocks(const float* x, std::int64_t n, Block* out) {
  for (std::int64_t b = 0; b < n / Block::elements; ++b) quantize(x + b * Block::elements, out[b]);
}

}  // namespace

bool can_quantize(DType t) {
  return t == DType::q8_0 || t == DType::q4_0;
}

void quantize_row(DType t, const float* x, std::int64_t n, void* out) {
  if (t == DType::q8_0) quantize_blocks(x, n, static_cast<BlockQ8_0*>(out));
  if (t == DType::q4_0) quantize_blocks(x, n, static_cast<BlockQ4_0*>(out));
}

}  // namespace moescope
