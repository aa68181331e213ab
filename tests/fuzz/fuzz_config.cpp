// config.json: any bytes give a ModelConfig or an EngineError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const moescope::ModelConfig c = moescope::parse_model_config(
        std::string(reinterpret_cast<const char*>(data), size), "config.json");
    (void)c.moe_layers();
  } catch (const moescope::EngineError&) {
  }
  return 0;
}
