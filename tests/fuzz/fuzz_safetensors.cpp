// One safetensors file: any bytes give validated tensor views or an EngineError; every view
// read to its end (ASan catches a view that reaches past the mapping).
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_files.h"
#include "fuzz_tensors.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto path = moescope::fuzz::scratch_dir("fuzz_safetensors") / "model.safetensors";
  moescope::fuzz::write_file(path, data, size);
  try {
    const moescope::SafetensorsFile file(path);
    moescope::fuzz::read_every_view_to_its_end(file.tensors());
  } catch (const moescope::EngineError&) {
  }
  return 0;
}
