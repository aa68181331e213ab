#include "remote/served_generation.h"

#include <algorithm>

#include "core/error.h"
#include "core/json.h"
#include "remote/http_client.h"
#include "wire/server_files.h"
#include "wire/sse.h"

namespace moescope {

using nlohmann::json;

namespace {

std::string endpoint(const ServerConnection& server, const std::string& path) {
  std::string base = server.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.ends_with("/v1")) base.resize(base.size() - 3);
  return base + path;
}

std::string server_message(const std::string& body) {
  try {
    if (const auto message = server_error_message(parse_json(body, "answer"))) return *message;
  } catch (const EngineError&) {
  }
  return body.substr(0, 300);
}

// An answer that is not what was asked for, in words a user can act on.
[[noreturn]] void fail(const std::string& url, const HttpResult& result) {
  if (!result.error.empty() && result.status == 0) throw EngineError(url + ": " + result.error);
  const std::string message = server_message(result.body);
  if (result.status == 401 || result.status == 403)
    throw EngineError(url + ": HTTP " + std::to_string(result.status) +
                      ": the server refused the credentials (give its API key, e.g. "
                      "--api-key-env VAR)" +
                      (message.empty() ? "" : ": " + message));
  throw EngineError(url + ": HTTP " + std::to_string(result.status) +
                    (message.empty() ? "" : ": " + message) +
                    (result.error.empty() ? "" : " (" + result.error + ")"));
}

HttpRequest request_for(const ServerConnection& server, const std::string& path, json body) {
  HttpRequest request;
  request.url = endpoint(server, path);
  request.api_key = server.api_key;
  if (!body.is_null())
    request.json_body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return request;
}

ServedGeneration finish(const ServerCompletion& completion, const ServedModel& model,
                        const ServedRun& run, const std::string& source) {
  ServedGeneration out;
  out.snapshot = snapshot_from_completion(completion, model, run, source);
  out.prompt_tokens = int(completion.prompt_ids.size());
  out.generated_tokens = int(completion.output_ids.size());
  out.finish_reason = completion.finish_reason;
  return out;
}

ServerCompletion whole_completion(const HttpRequest& request, const ModelConfig& config,
                                 const std::atomic<bool>* cancel) {
  const HttpResult result = http_request(request, {}, cancel);
  if (result.cancelled) throw EngineError(request.url + ": cancelled before the server answered");
  if (!result.error.empty() || result.status != 200) fail(request.url, result);
  return completion_from_json(parse_json(result.body, request.url), config, request.url);
}

ServedGeneration whole_answer(const HttpRequest& request, const ServedModel& model,
                              const ServedRun& run, const ServedTextCallback& on_text,
                              const std::atomic<bool>* cancel) {
  const ServerCompletion completion = whole_completion(request, model.config, cancel);
  ServedGeneration out = finish(completion, model, run, request.url);
  if (on_text) on_text(completion.text);
  return out;
}

ServedGeneration streamed_answer(const HttpRequest& request, const ServedModel& model,
                                 ServedRun run, const ServedTextCallback& on_text,
                                 const std::atomic<bool>* cancel) {
  CompletionStream stream(model.config, request.url);
  SseParser parser;
  std::size_t shown = 0;
  const HttpResult result = http_request(
      request,
      [&](std::string_view bytes) {
        parser.feed(bytes, [&](std::string_view event) {
          stream.add_event(event);
          const std::string& text = stream.completion().text;
          if (on_text && text.size() > shown) on_text(text.substr(shown));
          shown = text.size();
        });
      },
      cancel);
  if (result.status != 0 && (result.status < 200 || result.status >= 300))
    fail(request.url, result);
  if (stream.done() && result.error.empty())
    return finish(stream.completion(), model, run, request.url);
  if (!result.received_any || stream.completion().prompt_ids.empty()) {
    if (result.cancelled)
      throw EngineError(request.url + ": cancelled before the server sent a token");
    fail(request.url, result.error.empty()
                          ? HttpResult{result.status, result.body,
                                       "the stream ended before any token", false, false}
                          : result);
  }
  // Cut short after tokens came: keep them, and say what is missing.
  ServerCompletion partial = stream.completion();
  const std::size_t generated = partial.output_ids.size();
  run.incomplete = (result.cancelled ? "cancelled" : "the connection dropped") +
                   std::string(" after ") + std::to_string(generated) + " generated tokens" +
                   (result.cancelled || result.error.empty() ? "" : " (" + result.error + ")");
  if (!partial.routing) {
    partial.routing = RoutedExperts{};
    run.incomplete +=
        "; the server sends routing at the end of a stream, so these tokens have none";
  }
  return finish(partial, model, run, request.url);
}

}  // namespace

std::vector<std::string> served_models(const ServerConnection& server) {
  const HttpRequest request = request_for(server, "/v1/models", nullptr);
  const HttpResult result = http_request(request);
  if (!result.error.empty() || result.status != 200) fail(request.url, result);
  const json body = parse_json(result.body, request.url);
  std::vector<std::string> out;
  const auto data = body.is_object() ? body.find("data") : body.end();
  if (!body.is_object() || data == body.end() || !data->is_array())
    throw EngineError(request.url + ": data: expected the list of served models");
  for (std::size_t i = 0; i < data->size(); ++i) {
    const json& entry = (*data)[i];
    if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_string())
      throw EngineError(request.url + ": data[" + std::to_string(i) + "].id: expected a string");
    out.push_back(entry["id"].get<std::string>());
  }
  return out;
}

std::string completions_url(const ServerConnection& server) {
  return endpoint(server, "/v1/completions");
}

ServerCompletion prompt_routing_on_server(const ServerConnection& server,
                                          const std::string& model_name,
                                          const std::vector<int>& prompt_ids,
                                          const ModelConfig& config,
                                          const std::atomic<bool>* cancel) {
  // One token generated: the fewest a server accepts; the prompt's routing is the point.
  json body = {{"model", model_name}, {"prompt", prompt_ids}, {"max_tokens", 1},
               {"temperature", 0.0},  {"stream", false},      {"return_token_ids", true}};
  if (server.engine == ServerEngine::sglang) body["return_routed_experts"] = true;
  return whole_completion(request_for(server, "/v1/completions", body), config, cancel);
}

ServedGeneration generate_on_server(const ServerConnection& server, const ServedModel& model,
                                    const std::string& prompt, const SamplingSettings& sampling,
                                    const ServedTextCallback& on_text,
                                    const std::atomic<bool>* cancel) {
  check_sampling_settings(sampling);
  const std::vector<std::string> models = served_models(server);
  if (std::find(models.begin(), models.end(), model.name) == models.end()) {
    std::string names;
    for (const std::string& name : models) names += (names.empty() ? "" : ", ") + name;
    throw EngineError(endpoint(server, "/v1/models") + ": the server does not serve \"" +
                      model.name + "\" (it serves: " + (names.empty() ? "nothing" : names) + ")");
  }
  json body = {{"model", model.name},
               {"prompt", prompt},
               {"max_tokens", sampling.max_tokens},
               {"temperature", sampling.temperature},
               {"top_p", sampling.top_p},
               {"seed", sampling.seed},
               {"return_token_ids", true},
               {"logprobs", 0}};  // token texts for a model folder without a tokenizer
  const ServedRun run{server.engine, prompt, sampling, ""};
  if (server.engine == ServerEngine::vllm) {
    // vLLM captures whenever its server flag is on, and only returns routing in a
    // whole answer: its stream carries none.
    body["stream"] = false;
    return whole_answer(request_for(server, "/v1/completions", body), model, run, on_text, cancel);
  }
  body["stream"] = true;
  body["return_routed_experts"] = true;
  return streamed_answer(request_for(server, "/v1/completions", body), model, run, on_text, cancel);
}

}  // namespace moescope
