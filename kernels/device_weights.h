#pragma once
// A model's weights in device memory, in their stored dtype, placed by
// cuda_plan::WeightLayout in one allocation and uploaded once.
#include "cuda_plan/weight_layout.h"
#include "kernels/device_buffer.h"
#include "kernels/device_matrix.h"

namespace moescope::cuda {

class DeviceWeights {
 public:
  // Allocates layout.bytes and copies every tensor; throws EngineError naming the step.
  explicit DeviceWeights(cuda_plan::WeightLayout layout);

  const cuda_plan::WeightLayout& layout() const { return layout_; }
  DeviceMatrix matrix(const cuda_plan::MatrixSlot& s) const {
    return {arena_.at<const char>(s.offset), s.dtype, int(s.rows), int(s.cols)};
  }
  const float* vector(const cuda_plan::VectorSlot& s) const {
    return arena_.at<const float>(s.offset);
  }

 private:
  cuda_plan::WeightLayout layout_;
  DeviceBuffer arena_;
};

}  // namespace moescope::cuda
