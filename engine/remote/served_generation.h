#pragma once
// A generation run on a model served by vLLM or SGLang, with the routing capture of
// their --enable-return-routed-experts: the prompt goes to /v1/completions asking for
// token ids and routed experts, and the answer becomes the same routing snapshot a
// local run gives (ids_only). SGLang streams, so tokens show as they come and its
// routing arrives in the last event; vLLM sends routing only in a whole answer.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "io/snapshot.h"
#include "run/sampling.h"
#include "wire/completion.h"
#include "wire/served_model.h"

namespace moescope {

struct ServerConnection {
  std::string url;  // e.g. http://host:8000 (a trailing /v1 is accepted)
  ServerEngine engine = ServerEngine::vllm;
  std::string api_key;  // empty: none
};

struct ServedGeneration {
  RoutingSnapshot snapshot;  // incomplete set when the stream dropped or was cancelled
  int prompt_tokens = 0;
  int generated_tokens = 0;
  std::string finish_reason;
};

// Generated text as it arrives (SGLang; vLLM all at once at the end).
using ServedTextCallback = std::function<void(const std::string& text)>;

// The models the server serves (GET /v1/models). Throws EngineError naming the
// server: unreachable, TLS, 401/403 (the key), other HTTP errors, a malformed answer.
std::vector<std::string> served_models(const ServerConnection& server);

// Throws EngineError as served_models, when the server does not serve model.name,
// or when the answer has no routing (naming the server flag) or malformed routing
// (naming the field). A stream that drops or is cancelled after tokens came back
// is no error: its run is returned with snapshot.incomplete saying so. Cancel is
// seen within a second even while the server is silent.
ServedGeneration generate_on_server(const ServerConnection& server, const ServedModel& model,
                                    const std::string& prompt, const SamplingSettings& sampling,
                                    const ServedTextCallback& on_text = {},
                                    const std::atomic<bool>* cancel = nullptr);

// The routing of `prompt_ids` as the server ran them (sent as token ids, so the
// server reads exactly these tokens; one token generated, the fewest it allows),
// for the routing analyses. Throws EngineError as generate_on_server, and when
// cancelled (seen within a second).
ServerCompletion prompt_routing_on_server(const ServerConnection& server,
                                          const std::string& model_name,
                                          const std::vector<int>& prompt_ids,
                                          const ModelConfig& config,
                                          const std::atomic<bool>* cancel = nullptr);

// Where prompt_routing_on_server and generate_on_server send their prompts.
std::string completions_url(const ServerConnection& server);

}  // namespace moescope
