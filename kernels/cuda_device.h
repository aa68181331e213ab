#pragma once
// The CUDA devices this process can use: for the backend factory's `auto`, the
// backend's memory check and the suites that skip without a GPU.
#include <cstdint>
#include <string>

namespace moescope::cuda {

// 0 when there is no device or no usable driver (never throws).
int device_count();

struct DeviceInfo {
  int index = 0;
  std::string name;  // "NVIDIA H200"
  int major = 0, minor = 0;
  std::uint64_t free_bytes = 0, total_bytes = 0;
};

// Makes `index` the current device and reports it; throws EngineError saying
// why it cannot be used (no device, no driver, compute capability below 8.0).
DeviceInfo open_device(int index);

}  // namespace moescope::cuda
