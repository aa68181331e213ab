#include "contract/contract_server.h"

#include <chrono>
#include <filesystem>

#include "wire/routed_experts.h"

namespace moescope::test {

using nlohmann::json;

namespace {

// The fixture model: 3 layers (0 dense), MoE layers 1 and 2, 16 experts, top-4.
constexpr int all_layers = 3, moe_layers = 2, top_k = 4;

using PromptExperts = std::vector<std::vector<std::vector<int>>>;

// Rows [first, first + count) of the array, every layer (SGLang) or MoE layers only
// (vLLM); a token of `prompt` (when given) gets its ids from there.
RoutedExperts routing_rows(int first, int count, bool every_layer, bool bad_expert,
                           const PromptExperts& prompt = {}) {
  RoutedExperts out;
  out.tokens = count;
  out.layers = every_layer ? all_layers : moe_layers;
  out.top_k = top_k;
  for (int t = first; t < first + count; ++t)
    for (int l = 0; l < out.layers; ++l)
      for (int k = 0; k < top_k; ++k) {
        const int moe = every_layer ? l - 1 : l;
        out.ids.push_back(moe < 0                       ? 0
                          : bad_expert && t == first    ? 99
                          : t < int(prompt.size())      ? prompt[t].at(moe).at(k)
                                                        : contract_expert(t, moe, k));
      }
  return out;
}

json error_body(ServerEngine engine, const std::string& message, int code) {
  if (engine == ServerEngine::vllm)
    return {
        {"error",
         {{"message", message}, {"type", "BadRequestError"}, {"param", nullptr}, {"code", code}}}};
  return {{"object", "error"}, {"message", message}, {"type", "BadRequestError"}, {"code", code}};
}

std::string event(const json& data) {
  return "data: " + data.dump() + "\n\n";
}

}  // namespace

int contract_expert(int token, int moe_layer, int slot) {
  return (3 * token + 5 * moe_layer + slot) % 16;
}

ContractServer::ContractServer(ServerEngine engine, Fault fault, std::string api_key,
                               PromptRouting prompt_routing)
    : engine_(engine),
      fault_(fault),
      api_key_(std::move(api_key)),
      prompt_routing_(std::move(prompt_routing)),
      tokenizer_(load_tokenizer(std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" /
                                "dense-lead-f32")) {
  server_.Get("/v1/models", [this](const httplib::Request& request, httplib::Response& response) {
    if (!authorised(request, response)) return;
    response.set_content(
        json({{"object", "list"}, {"data", {{{"id", "tiny"}, {"object", "model"}}}}}).dump(),
        "application/json");
  });
  server_.Post("/v1/completions",
               [this](const httplib::Request& request, httplib::Response& response) {
                 answer_completion(request, response);
               });
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // Until it runs, stop() would not reach it (and the destructor would wait forever).
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

ContractServer::~ContractServer() {
  server_.stop();
  thread_.join();
}

json ContractServer::last_completion_request() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

int ContractServer::completion_requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool ContractServer::authorised(const httplib::Request& request,
                                httplib::Response& response) const {
  if (fault_ != Fault::unauthorized &&
      (api_key_.empty() || request.get_header_value("Authorization") == "Bearer " + api_key_))
    return true;
  response.status = 401;
  response.set_content(error_body(engine_, "Unauthorized", 401).dump(), "application/json");
  return false;
}

void ContractServer::answer_completion(const httplib::Request& request,
                                       httplib::Response& response) {
  if (!authorised(request, response)) return;
  const json body = json::parse(request.body);
  {
    std::lock_guard lock(mutex_);
    last_request_ = body;
    ++requests_;
  }
  if (fault_ == Fault::silent) std::this_thread::sleep_for(std::chrono::seconds(2));
  // A prompt is text or, as both servers accept, token ids.
  const json& asked = body.at("prompt");
  const std::vector<int> prompt = asked.is_array() ? asked.get<std::vector<int>>()
                                                   : tokenizer_->encode(asked.get<std::string>());
  const PromptExperts prompt_experts = prompt_routing_ ? prompt_routing_(prompt) : PromptExperts{};
  const int generated = body.value("max_tokens", 16);
  std::vector<int> output;
  for (int i = 0; i < generated; ++i) output.push_back(contract_first_output_id + i);
  const int p = int(prompt.size()), g = int(output.size());
  const bool bad = fault_ == Fault::bad_expert;
  const bool capture = fault_ != Fault::no_capture;
  const bool stream = body.value("stream", false);

  json choice = {{"index", 0}, {"text", ""}, {"finish_reason", "length"}, {"logprobs", nullptr}};
  std::string text;
  for (int id : output) text += tokenizer_->piece(id);
  choice["text"] = text;
  choice["prompt_token_ids"] = prompt;
  choice["token_ids"] = output;

  if (engine_ == ServerEngine::vllm) {
    // vLLM 0.21: prompt_routed_experts at the top, choices[i].routed_experts, nested
    // int lists of MoE layers; routing only in whole answers, never in a stream.
    json answer = {{"id", "cmpl-1"}, {"object", "text_completion"}, {"model", "tiny"}};
    if (capture) {
      answer["prompt_routed_experts"] =
          routed_experts_to_nested(routing_rows(0, p, false, bad, prompt_experts));
      json rows = routed_experts_to_nested(routing_rows(p, g, false, false));
      if (fault_ == Fault::truncated_routing && !rows.empty()) rows.back().back().erase(0);
      choice["routed_experts"] = rows;
    }
    if (!stream) {
      answer["choices"] = json::array({choice});
      response.set_content(answer.dump(), "application/json");
      return;
    }
    std::string events;
    for (int i = 0; i < g; ++i)
      events += event({{"id", "cmpl-1"},
                       {"object", "text_completion"},
                       {"choices",
                        {{{"index", 0},
                          {"text", tokenizer_->piece(output[i])},
                          {"token_ids", {output[i]}},
                          {"finish_reason", nullptr}}}}});
    events += "data: [DONE]\n\n";
    response.set_content(events, "text/event-stream");
    return;
  }

  // SGLang: sglext.routed_experts, base64 of int32 [tokens, num_hidden_layers, top_k]
  // for the sequence less its last token; streamed as the event after the last token.
  std::string routing;
  if (capture) {
    routing =
        routed_experts_to_int32_base64(routing_rows(0, p + g - 1, true, bad, prompt_experts));
    if (fault_ == Fault::truncated_routing) routing.resize(routing.size() - 4);
  }
  if (!stream) {
    json answer = {{"id", "1"},
                   {"object", "text_completion"},
                   {"model", "tiny"},
                   {"choices", json::array({choice})}};
    if (capture) answer["sglext"] = {{"routed_experts", routing}};
    response.set_content(answer.dump(), "application/json");
    return;
  }
  const Fault fault = fault_;
  response.set_chunked_content_provider("text/event-stream", [prompt, output, routing, fault,
                                                              capture,
                                                              this](std::size_t,
                                                                    httplib::DataSink& sink) {
    for (std::size_t i = 0; i < output.size(); ++i) {
      if (fault == Fault::drop_mid_stream && i == 2) return false;  // closes the connection
      if (fault == Fault::slow_stream && i > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      json delta = {{"index", 0},
                    {"text", tokenizer_->piece(output[i])},
                    {"token_ids", {output[i]}},
                    {"finish_reason", i + 1 == output.size() ? json("length") : json()}};
      if (i == 0) delta["prompt_token_ids"] = prompt;
      const std::string chunk = event(
          {{"id", "1"}, {"object", "text_completion"}, {"model", "tiny"}, {"choices", {delta}}});
      if (!sink.write(chunk.data(), chunk.size())) return false;  // the client went away
    }
    if (capture) {
      const std::string chunk = event({{"id", "1"},
                                       {"object", "text_completion"},
                                       {"choices", json::array()},
                                       {"sglext", {{"routed_experts", routing}}}});
      sink.write(chunk.data(), chunk.size());
    }
    sink.write("data: [DONE]\n\n", 14);
    sink.done();
    return true;
  });
}

}  // namespace moescope::test
