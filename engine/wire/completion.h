#pragma once
// What a serving engine answers to a completion request with routing capture on,
// parsed from its documented JSON (docs/REMOTE.md): vLLM's /v1/completions
// (prompt_routed_experts and choices[0].routed_experts), SGLang's /v1/completions
// (sglext.routed_experts, also as the last event of a stream) and SGLang's native
// /generate (meta_info.routed_experts). Untrusted input: every problem is an
// EngineError naming the source and the field; nothing is returned half-parsed.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"
#include "wire/routed_experts.h"

namespace moescope {

enum class ServerEngine { vllm, sglang };
const char* server_engine_name(ServerEngine engine);  // "vllm", "sglang"

// The server option (the same in both) without which no routing comes back.
inline constexpr const char* routing_capture_flag = "--enable-return-routed-experts";

struct ServerCompletion {
  std::vector<int> prompt_ids;
  std::vector<int> output_ids;
  std::vector<std::string> output_pieces;  // one per output id when logprobs came back, else empty
  std::string text;                        // the generated text
  std::string finish_reason;               // "stop", "length", ...; empty when not told
  // Row t is token t of prompt_ids + output_ids (rows may stop short of the last
  // tokens); nullopt when the response carries no routing at all.
  std::optional<RoutedExperts> routing;
};

// The error message of an error body ({"error": {"message": ...}} or
// {"object": "error", "message": ...}); nullopt when `body` is not one.
std::optional<std::string> server_error_message(const nlohmann::json& body);

// A whole (non-streamed) response of any of the three kinds above. `config` gives
// SGLang's int32 layout ([-1, num_hidden_layers, num_experts_per_tok]).
ServerCompletion completion_from_json(const nlohmann::json& body, const ModelConfig& config,
                                      const std::string& source);

// A streamed SGLang /v1/completions, one `data:` payload at a time.
class CompletionStream {
 public:
  CompletionStream(const ModelConfig& config, std::string source)
      : config_(config), source_(std::move(source)) {}

  // The output tokens this event added. Throws EngineError on an error event or a
  // malformed one (naming the event and the field).
  std::vector<int> add_event(std::string_view data);
  bool done() const { return done_; }  // [DONE] seen
  const ServerCompletion& completion() const { return completion_; }

 private:
  const ModelConfig& config_;
  std::string source_;
  int events_ = 0;
  bool done_ = false;
  ServerCompletion completion_;
};

}  // namespace moescope
