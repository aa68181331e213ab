#pragma once
// NumPy's .npy format for integer arrays: what vLLM's numpy2base64 puts inside its
// base64 strings (np.save of the routed-expert array). Only what routing needs:
// little-endian or single-byte integers, C order, any rank.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace moescope {

struct NpyIntArray {
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> values;  // C order
};

// Throws EngineError naming `field` on a bad magic, header, dtype (floats, big-endian,
// Fortran order) or a payload whose size does not match the shape.
NpyIntArray read_npy_ints(std::span<const std::uint8_t> bytes, const std::string& field);

// Version 1.0, dtype '<i2' (vLLM's routed-expert dtype); throws if a value does not fit.
std::vector<std::uint8_t> write_npy_int16(const std::vector<std::int64_t>& shape,
                                          const std::vector<std::int64_t>& values);

}  // namespace moescope
