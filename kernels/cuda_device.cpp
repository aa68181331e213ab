#include "kernels/cuda_device.h"

#include <cuda_runtime_api.h>

#include "core/error.h"
#include "kernels/cuda_error.h"

namespace moescope::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear it: the caller falls back to the CPU
    return 0;
  }
  return n;
}

DeviceInfo open_device(int index) {
  int n = 0;
  const cudaError_t status = cudaGetDeviceCount(&n);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw EngineError(std::string("no usable CUDA device: ") + cudaGetErrorString(status));
  }
  if (index < 0 || index >= n)
    throw EngineError("no CUDA device " + std::to_string(index) + " (this machine has " +
                      std::to_string(n) + ")");
  check_cuda(cudaSetDevice(index), "selecting the device");
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, index), "reading the device's properties");
  DeviceInfo info{index, prop.name, prop.major, prop.minor, 0, 0};
  // The kernels are built for sm_80 and newer (CMAKE_CUDA_ARCHITECTURES).
  if (prop.major < 8)
    throw EngineError(info.name + " has compute capability " + std::to_string(prop.major) + "." +
                      std::to_string(prop.minor) + "; the CUDA backend needs 8.0 or newer");
  std::size_t free_bytes = 0, total_bytes = 0;
  check_cuda(cudaMemGetInfo(&free_bytes, &total_bytes), "reading the device's free memory");
  info.free_bytes = free_bytes;
  info.total_bytes = total_bytes;
  return info;
}

}  // namespace moescope::cuda
