// A routing snapshot: any bytes give a snapshot or an EngineError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "core/json.h"
#include "io/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)moescope::snapshot_from_json(moescope::parse_json(text, "snap.json"), "snap.json");
  } catch (const moescope::EngineError&) {
  }
  return 0;
}
