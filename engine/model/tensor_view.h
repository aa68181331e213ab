#pragma once
// A borrowed, typed view of one tensor's bytes (usually inside an mmap).
#include <cstdint>
#include <string>
#include <vector>

#include "model/dtype.h"

namespace moescope {

struct TensorView {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
  // The CPU backend's copy of the rows, 8 at a time interleaved (cpu/interleaved_rows.h),
  // or null. The products read it where set; rows_of does not carry it over.
  const void* interleaved = nullptr;

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  std::int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  std::int64_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
};

std::string shape_string(const std::vector<std::int64_t>& shape);  // "[64, 2048]"

// Bytes t's elements occupy in its storage dtype (whole blocks when quantized).
std::int64_t tensor_bytes(const TensorView& t);

// Rows [first, first + count) of t, t's leading dimensions flattened into rows: expert e
// of a fused [experts, rows, cols] tensor is rows_of(t, e * rows, rows). A view, no copy.
TensorView rows_of(const TensorView& t, std::int64_t first, std::int64_t count);

// Widens n elements of t starting at element `offset` to f32 (embedding rows); quantized
// blocks are dequantized.
void widen(const TensorView& t, std::int64_t offset, std::int64_t n, float* out);

// Widens a whole small tensor (norm weights) to f32.
std::vector<float> to_f32(const TensorView& t);

}  // namespace moescope
