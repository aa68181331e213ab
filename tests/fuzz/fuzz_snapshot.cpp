// A routing snapshot: any bytes give a snapshot or an EngineError; a snapshot that was read
// is written (write_snapshot) and read back (read_snapshot) unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/json.h"
#include "fuzz_files.h"
#include "io/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto path = moescope::fuzz::scratch_dir("fuzz_snapshot") / "snap.json";
  moescope::RoutingSnapshot snapshot;
  try {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    snapshot = moescope::snapshot_from_json(moescope::parse_json(text, "snap.json"), "snap.json");
  } catch (const moescope::EngineError&) {
    return 0;
  }
  moescope::write_snapshot(snapshot, path);  // throws (and the fuzzer stops) if it cannot
  const moescope::RoutingSnapshot again = moescope::read_snapshot(path);
  if (moescope::snapshot_to_json(again) != moescope::snapshot_to_json(snapshot)) std::abort();
  return 0;
}
