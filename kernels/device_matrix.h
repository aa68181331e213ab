#pragma once
// A weight matrix in device memory, in its stored dtype: [rows, cols] row-major.
#include <cstdint>

#include "model/dtype.h"

namespace moescope::cuda {

struct DeviceMatrix {
  const void* data = nullptr;
  DType dtype = DType::f32;
  int rows = 0, cols = 0;
};

}  // namespace moescope::cuda
