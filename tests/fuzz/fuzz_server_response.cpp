// A served model's answer (engine/wire): any bytes, read as a whole JSON answer and as an
// SGLang event stream, give routing or an EngineError. Routing that was read makes an
// ids_only snapshot that reads back, and written in both servers' forms reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/json.h"
#include "io/snapshot.h"
#include "wire/server_files.h"
#include "wire/sse.h"

namespace {

using namespace moescope;

// DeepSeekMoE, 3 layers (layer 0 dense), top-4 of 16; no tokenizer, so texts are the ids.
const ServedModel& model() {
  static const ServedModel served = load_served_model(
      std::string(MOESCOPE_FIXTURES_DIR) + "/models/dense-lead-f32/config.json", "fuzz");
  return served;
}

void check_snapshot(const ServerCompletion& completion, ServerEngine engine) {
  RoutingSnapshot snapshot;
  try {
    snapshot = snapshot_from_completion(completion, model(), {engine, "", {}, ""}, "answer");
  } catch (const EngineError&) {
    return;
  }
  const nlohmann::json written = snapshot_to_json(snapshot);
  const RoutingSnapshot back = snapshot_from_json(written, "snapshot");  // throws: a bug
  for (const ServerEngine form : {ServerEngine::vllm, ServerEngine::sglang}) {
    const ServerCompletion again =
        completion_from_json(completion_from_snapshot(back, form), model().config, "again");
    const RoutingSnapshot round =
        snapshot_from_completion(again, model(), {form, "", {}, ""}, "again");
    if (round.tokens.size() != back.tokens.size()) std::abort();
    for (std::size_t t = 0; t < round.tokens.size(); ++t) {
      const auto& a = round.tokens[t].routing.layers;
      const auto& b = back.tokens[t].routing.layers;
      if (a.size() != b.size()) std::abort();
      for (std::size_t l = 0; l < a.size(); ++l)
        if (a[l].expert_ids != b[l].expert_ids || a[l].layer != b[l].layer) std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json body = parse_json(text, "answer");
    check_snapshot(completion_from_json(body, model().config, "answer"), engine_of_response(body));
  } catch (const EngineError&) {
  }
  CompletionStream stream(model().config, "stream");
  SseParser parser;
  try {
    parser.feed(text, [&](std::string_view event) { stream.add_event(event); });
  } catch (const EngineError&) {
    return 0;
  }
  if (stream.done()) check_snapshot(stream.completion(), ServerEngine::sglang);
  return 0;
}
