#include "kernels/device_weights.h"

#include "kernels/cuda_error.h"

namespace moescope::cuda {

DeviceWeights::DeviceWeights(cuda_plan::WeightLayout layout)
    : layout_(std::move(layout)), arena_(layout_.bytes, "allocating the weights") {
  for (const cuda_plan::UploadCopy& c : layout_.copies)
    check_cuda(cudaMemcpy(arena_.at(c.offset), c.host, c.bytes, cudaMemcpyHostToDevice),
               "uploading the weights");
}

}  // namespace moescope::cuda
