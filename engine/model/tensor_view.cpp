#include "model/tensor_view.h"

#include <algorithm>
#include <cassert>

#include "model/quant_blocks.h"

namespace moescope {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

TensorView rows_of(const TensorView& t, std::int64_t first, std::int64_t count) {
  const std::int64_t cols = t.shape.empty() ? 1 : t.shape.back();
  assert(first >= 0 && count >= 0 && (first + count) * cols <= t.numel());
  TensorView out;
  out.name = t.name + "[rows " + std::to_string(first) + ".." + std::to_string(first + count) + ")";
  out.dtype = t.dtype;
  out.shape = {count, cols};
  out.data = static_cast<const char*>(t.data) + storage_bytes(t.dtype, first * cols);
  return out;
}

std::int64_t tensor_bytes(const TensorView& t) {
  return storage_bytes(t.dtype, t.numel());
}

namespace {

// Dequantizes every block that elements [offset, offset + n) touch, keeping that range.
template <typename Block>
void widen_blocks(const Block* blocks, std::int64_t offset, std::int64_t n, float* out) {
  float block[Block::elements];
  for (std::int64_t b = offset / Block::elements; b * Block::elements < offset + n; ++b) {
    dequantize(blocks[b], block);
    const std::int64_t begin = std::max(offset, b * Block::elements);
    const std::int64_t end = std::min(offset + n, (b + 1) * Block::elements);
    std::copy(block + (begin - b * Block::elements), block + (end - b * Block::elements),
              out + (begin - offset));
  }
}

}  // namespace

void widen(const TensorView& t, std::int64_t offset, std::int64_t n, float* out) {
  if (is_quantized(t.dtype))
    return with_blocks(t.dtype, t.data,
                       [&](const auto* blocks) { widen_blocks(blocks, offset, n, out); });
  const auto* h = static_cast<const std::uint16_t*>(t.data) + offset;
  switch (t.dtype) {
    case DType::f32:
      std::copy_n(static_cast<const float*>(t.data) + offset, n, out);
      break;
    case DType::bf16:
      for (std::int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(h[i]);
      break;
    case DType::f16:
      for (std::int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(h[i]);
      break;
    default:  // quantized: above
      break;
  }
}

std::vector<float> to_f32(const TensorView& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  widen(t, 0, t.numel(), out.data());
  return out;
}

}  // namespace moescope
