// One safetensors file: any bytes give validated tensor views or an EngineError; every view
// read to its end (ASan catches a view that reaches past the mapping).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "core/error.h"
#include "model/safetensors.h"
#include "model/tensor_view.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/fuzz_safetensors." + std::to_string(::getpid());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), std::streamsize(size));
  try {
    moescope::SafetensorsFile file(path);
    volatile float sink = 0;
    for (const auto& [name, view] : file.tensors()) {
      const std::int64_t n = view.numel();
      if (n > 0 && n < (1 << 20)) {
        float last = 0;
        moescope::widen(view, n - 1, 1, &last);
        sink = sink + last;
      }
    }
  } catch (const moescope::EngineError&) {
  }
  return 0;
}
