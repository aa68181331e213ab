#pragma once
// Routing captured by vLLM or SGLang, to and from moescope snapshots: a response
// a user saved (any form completion_from_json reads) becomes an ids_only snapshot,
// and a snapshot's routing is written as one of the servers' own responses.
#include <nlohmann/json.hpp>
#include <string>

#include "io/snapshot.h"
#include "run/sampling.h"
#include "wire/completion.h"
#include "wire/served_model.h"

namespace moescope {

struct ServedRun {
  ServerEngine engine = ServerEngine::vllm;
  std::string prompt;  // empty: decoded from the prompt ids when there is a tokenizer
  SamplingSettings sampling;
  std::string incomplete;  // why the run ended early; empty when it did not
};

// An ids_only snapshot of `completion`. Token texts come from the model's
// tokenizer when it has one, else from the server's logprob pieces, else ⟨id⟩.
// Throws EngineError naming `source` when the completion has no routing (naming
// the server flag that turns capture on) or routing that does not fit the model.
RoutingSnapshot snapshot_from_completion(const ServerCompletion& completion,
                                         const ServedModel& model, const ServedRun& run,
                                         const std::string& source);

// The snapshot's tokens and routing as the engine's own /v1/completions response:
// vLLM's nested lists (prompt_routed_experts and choices[0].routed_experts, MoE
// layers only) or SGLang's sglext.routed_experts (base64 int32, every layer).
// Throws EngineError when the snapshot's routing is not what a server sends (a run
// with interventions, or with prompt tokens after generated ones).
nlohmann::json completion_from_snapshot(const RoutingSnapshot& snapshot, ServerEngine engine);

// sglext or meta_info: an SGLang answer; otherwise vLLM's.
ServerEngine engine_of_response(const nlohmann::json& body);

}  // namespace moescope
