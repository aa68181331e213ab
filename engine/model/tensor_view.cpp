#include "model/tensor_view.h"

#include <algorithm>
#include <cassert>

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
  out.data = static_cast<const char*>(t.data) + first * cols * std::int64_t(dtype_size(t.dtype));
  return out;
}

void widen(const TensorView& t, std::int64_t offset, std::int64_t n, float* out) {
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
  }
}

std::vector<float> to_f32(const TensorView& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  widen(t, 0, t.numel(), out.data());
  return out;
}

}  // namespace moescope
