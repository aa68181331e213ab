#pragma once
// A model served by vLLM or SGLang as the routing analyses' source: each text
// window goes to the server as token ids (one request a window, spaced by a rate
// limit) and the expert ids it reports for those prompt tokens come back. The
// windows are the local evaluation's, so the same texts give the same analyses.
#include <atomic>
#include <chrono>

#include "analysis/routing_source.h"
#include "remote/served_generation.h"

namespace moescope {

class ServedRoutingSource final : public RoutingSource {
 public:
  // `model` (kept by reference) needs its tokenizer, to cut the texts into the ids
  // sent: throws EngineError naming its config.json without one. At least
  // `seconds_between_requests` pass between the starts of two requests.
  ServedRoutingSource(ServerConnection server, const ServedModel& model,
                      double seconds_between_requests, const std::atomic<bool>* cancel);

  const std::string& name() const override;
  const ModelConfig& config() const override;
  const Tokenizer& tokenizer() const override;
  // Throws EngineError naming the server and the window (what generate_on_server
  // throws, a server that read other tokens, a token without routing), Cancelled.
  Evaluation route(const std::vector<TokenStream>& streams, const EvalSettings& settings,
                   WorkMeter& meter) override;

  int requests() const { return requests_; }

 private:
  void wait_turn();  // the rate limit; throws Cancelled while it waits
  std::vector<TokenRouting> route_window(const std::vector<int>& ids, const std::string& where);

  ServerConnection server_;
  const ServedModel& model_;
  std::chrono::duration<double> spacing_;
  const std::atomic<bool>* cancel_;
  std::chrono::steady_clock::time_point last_request_{};
  int requests_ = 0;
};

}  // namespace moescope
