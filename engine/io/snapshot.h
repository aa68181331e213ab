#pragma once
// Routing snapshot: a versioned JSON file holding everything needed to redraw
// every view of a generation run without the model (prepare at home, present
// without a GPU). The format is documented in docs/snapshot-format.md.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "run/interventions.h"
#include "run/routing.h"
#include "run/sampling.h"

namespace moescope {

// Version 2 adds DeepSeek-V3's selection scores, group routing's kept groups and the
// interventions on them (select_without_bias, no_group_limit), all optional; a snapshot
// without them is still written as version 1, so older moescopes keep opening it.
constexpr int snapshot_format_version = 2;
inline constexpr const char* snapshot_format_name = "moescope-routing-snapshot";

struct SnapshotToken {
  std::string text;  // the decoded piece shown for this token
  TokenRouting routing;
};

// "Compare with experts off": the snapshot's own tokens are the switched run, and
// this is the run beside it — all experts on, same prompt and seed — with, for
// each generated baseline token, KL(baseline ‖ switched) in nats between the two
// next-token distributions on the baseline's own text (teacher-forced).
struct SnapshotComparison {
  std::vector<SnapshotToken> baseline_tokens;
  // One per generated baseline token from the first; fewer where the baseline's
  // distributions did not all fit in memory.
  std::vector<double> next_token_kl;
};

struct RoutingSnapshot {
  std::string model_name;
  std::string model_path;
  nlohmann::json model_config;  // the model's config.json object as loaded
  std::string backend;          // "cpu", "cuda", ...
  std::string created_at;       // ISO-8601 UTC, e.g. "2024-05-01T12:34:56Z"
  std::string prompt;
  std::string generated_text;
  SamplingSettings sampling;
  Interventions interventions;
  std::vector<SnapshotToken> tokens;
  // Every layer record's detail: ids_only for a model served by vLLM or SGLang.
  RoutingDetail routing_detail = RoutingDetail::full;
  // Why the run ended before it was complete (a connection that dropped
  // mid-stream); empty for a complete run.
  std::string incomplete;
  std::optional<SnapshotComparison> comparison;
};

// The current time as ISO-8601 UTC with second resolution, for created_at.
std::string utc_timestamp_now();

// Throws EngineError if a routing value is NaN or infinite: JSON cannot hold it,
// or if a layer record's detail is not the snapshot's routing_detail.
// Dump with json::error_handler_t::replace: token pieces may split a UTF-8
// character, which nlohmann's default dump refuses.
nlohmann::json snapshot_to_json(const RoutingSnapshot& snapshot);

// Validates every field against the format and the embedded model config;
// throws EngineError naming `source` and the JSON path of the bad field.
RoutingSnapshot snapshot_from_json(const nlohmann::json& document, const std::string& source);

// Atomic: writes a temporary file beside `path`, then renames it over `path`.
// On failure the previous file is untouched, the temporary file is removed and
// an EngineError naming `path` is thrown.
void write_snapshot(const RoutingSnapshot& snapshot, const std::filesystem::path& path);

RoutingSnapshot read_snapshot(const std::filesystem::path& path);

}  // namespace moescope
