#include "remote/served_routing_source.h"

#include <thread>

#include "core/error.h"
#include "run/run_control.h"
#include "wire/server_routing.h"

namespace moescope {

ServedRoutingSource::ServedRoutingSource(ServerConnection server, const ServedModel& model,
                                         double seconds_between_requests,
                                         const std::atomic<bool>* cancel)
    : server_(std::move(server)),
      model_(model),
      spacing_(std::max(0.0, seconds_between_requests)),
      cancel_(cancel) {
  if (!model_.tokenizer)
    throw EngineError(model_.config_path.string() +
                      ": no tokenizer.json or tokenizer.model beside it: the texts must be cut "
                      "into the served model's tokens here (give the model's tokenizer)");
}

const std::string& ServedRoutingSource::name() const {
  return model_.name;
}

const ModelConfig& ServedRoutingSource::config() const {
  return model_.config;
}

const Tokenizer& ServedRoutingSource::tokenizer() const {
  return *model_.tokenizer;
}

void ServedRoutingSource::wait_turn() {
  const auto due =
      last_request_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(spacing_);
  for (auto now = std::chrono::steady_clock::now(); requests_ > 0 && now < due;
       now = std::chrono::steady_clock::now()) {
    if (cancel_ && cancel_->load()) throw Cancelled();
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(due - now, std::chrono::milliseconds(50)));
  }
  last_request_ = std::chrono::steady_clock::now();
  ++requests_;
}

std::vector<TokenRouting> ServedRoutingSource::route_window(const std::vector<int>& ids,
                                                            const std::string& where) {
  wait_turn();
  const std::string source = completions_url(server_) + " (" + where + ")";
  ServerCompletion answer;
  try {
    answer = prompt_routing_on_server(server_, model_.name, ids, model_.config, cancel_);
  } catch (const EngineError&) {
    if (cancel_ && cancel_->load()) throw Cancelled();
    throw;
  }
  if (!answer.prompt_ids.empty() && answer.prompt_ids != ids)
    throw EngineError(source + ": prompt_token_ids: the server read other tokens than the " +
                      std::to_string(ids.size()) + " ids sent");
  if (!answer.routing)
    throw EngineError(source + ": no routed experts in the answer: start the server with " +
                      routing_capture_flag + " to capture them");
  std::vector<int> sequence = ids;
  sequence.insert(sequence.end(), answer.output_ids.begin(), answer.output_ids.end());
  std::vector<TokenRouting> routing = routing_from_server(
      *answer.routing, sequence, int(ids.size()), model_.config, source + ": routed_experts");
  routing.resize(ids.size());
  for (const TokenRouting& token : routing)
    if (token.layers.empty())
      throw EngineError(source + ": routed_experts: no routing for prompt token " +
                        std::to_string(token.position) +
                        " (a server answering it from its prefix cache reports none: turn the "
                        "cache off for this analysis)");
  return routing;
}

Evaluation ServedRoutingSource::route(const std::vector<TokenStream>& streams,
                                      const EvalSettings& settings, WorkMeter& meter) {
  Evaluation out;
  for (const TokenStream& stream : streams) {
    LabelEvaluation& label = out.labels.emplace_back();
    label.label = stream.label;
    const int windows = window_count(stream, settings.window);
    for (int w = 0; w < windows; ++w) {
      const auto first = stream.ids.begin() + std::ptrdiff_t(w) * settings.window;
      const std::vector<int> ids(first, first + settings.window);
      std::vector<TokenRouting> routing =
          route_window(ids, "window " + std::to_string(w) + " of '" + stream.label + "'");
      label.routing.insert(label.routing.end(), std::make_move_iterator(routing.begin()),
                           std::make_move_iterator(routing.end()));
      meter.advance(settings.window);
    }
  }
  return out;
}

}  // namespace moescope
