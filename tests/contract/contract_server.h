#pragma once
// A loopback stand-in for a serving engine, speaking what vLLM and SGLang document
// (docs/REMOTE.md): GET /v1/models, POST /v1/completions whole or streamed, their
// error bodies, and on request the faults a client must survive. It tokenizes the
// prompt with the fixture model's tokenizer and "generates" ids 100, 101, ... so
// that a test knows every token and expert id the client should end up with.
#include <httplib.h>

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tokenizer/tokenizer.h"
#include "wire/completion.h"

namespace moescope::test {

enum class Fault {
  none,
  unauthorized,       // 401 with the engine's error body
  no_capture,         // started without --enable-return-routed-experts: no routing
  bad_expert,         // an expert id beyond the model's
  truncated_routing,  // SGLang: base64 cut short; vLLM: a ragged nested list
  drop_mid_stream,    // SGLang: the connection closes after two tokens
  slow_stream,        // SGLang: 250 ms between tokens, for cancel
  silent,             // 2 s before any byte of the answer, for cancel while nothing comes
};

// The expert ids the server reports for token t in MoE layer m (of 2; 16 experts, top-4).
int contract_expert(int token, int moe_layer, int slot);
inline constexpr int contract_first_output_id = 100;

// Expert ids to report for a prompt's tokens, [token][moe layer][slot], in place of
// contract_expert: e.g. a local model's own routing of those ids.
using PromptRouting = std::function<std::vector<std::vector<std::vector<int>>>(
    const std::vector<int>& prompt_ids)>;

class ContractServer {
 public:
  ContractServer(ServerEngine engine, Fault fault, std::string api_key = "",
                 PromptRouting prompt_routing = {});
  ~ContractServer();
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  nlohmann::json last_completion_request() const;
  int completion_requests() const;

 private:
  void answer_completion(const httplib::Request& request, httplib::Response& response);
  bool authorised(const httplib::Request& request, httplib::Response& response) const;

  ServerEngine engine_;
  Fault fault_;
  std::string api_key_;
  PromptRouting prompt_routing_;
  std::unique_ptr<Tokenizer> tokenizer_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  nlohmann::json last_request_;
  int requests_ = 0;
};

}  // namespace moescope::test
