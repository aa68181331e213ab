#include "wire/server_files.h"

#include "core/error.h"
#include "wire/server_routing.h"

namespace moescope {

using nlohmann::json;

namespace {

std::vector<std::string> token_texts(const std::vector<int>& ids, int prompt_tokens,
                                     const ServerCompletion& completion, const ServedModel& model) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  if (model.tokenizer) {
    TextStream stream(*model.tokenizer);
    for (int id : ids) out.push_back(stream.push(id));
    if (!out.empty()) out.back() += stream.flush();
    return out;
  }
  const bool pieces = completion.output_pieces.size() == completion.output_ids.size();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const bool output = int(i) >= prompt_tokens;
    out.push_back(output && pieces ? valid_utf8(completion.output_pieces[i - prompt_tokens])
                                   : "\u27e8" + std::to_string(ids[i]) + "\u27e9");
  }
  return out;
}

}  // namespace

RoutingSnapshot snapshot_from_completion(const ServerCompletion& completion,
                                         const ServedModel& model, const ServedRun& run,
                                         const std::string& source) {
  if (!completion.routing)
    throw EngineError(source + ": no routed experts in the answer: start the server with " +
                      routing_capture_flag + " (" + server_engine_name(run.engine) +
                      ") to capture them");
  std::vector<int> ids = completion.prompt_ids;
  ids.insert(ids.end(), completion.output_ids.begin(), completion.output_ids.end());
  const int prompt_tokens = int(completion.prompt_ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] >= model.config.vocab_size)
      throw EngineError(source + ": token " + std::to_string(i) + " has id " +
                        std::to_string(ids[i]) + ", outside the vocabulary of " +
                        std::to_string(model.config.vocab_size) +
                        " (is --config the served model's?)");
  std::vector<TokenRouting> routing = routing_from_server(
      *completion.routing, ids, prompt_tokens, model.config, source + ": routed_experts");
  const std::vector<std::string> texts = token_texts(ids, prompt_tokens, completion, model);

  RoutingSnapshot out;
  out.model_name = model.name;
  out.model_path = model.config_path.string();
  out.model_config = model.config_json;
  out.backend = server_engine_name(run.engine);
  out.created_at = utc_timestamp_now();
  out.prompt = run.prompt;
  if (out.prompt.empty() && model.tokenizer)
    out.prompt = valid_utf8(model.tokenizer->decode(completion.prompt_ids));
  out.generated_text = valid_utf8(completion.text);
  out.sampling = run.sampling;
  out.sampling.max_tokens = std::max(out.sampling.max_tokens, int(completion.output_ids.size()));
  out.routing_detail = RoutingDetail::ids_only;
  out.incomplete = run.incomplete;
  for (std::size_t i = 0; i < ids.size(); ++i)
    out.tokens.push_back({texts[i], std::move(routing[i])});
  return out;
}

json completion_from_snapshot(const RoutingSnapshot& snapshot, ServerEngine engine) {
  const ModelConfig config =
      parse_model_config(snapshot.model_config.dump(), snapshot.model_name + ": model.config");
  if (!snapshot.interventions.disabled_experts.empty() ||
      !snapshot.interventions.disabled_shared.empty() || snapshot.interventions.top_k)
    throw EngineError(
        "this run switched experts off or changed k; a server's routing never does, "
        "so it cannot be written as one");
  std::vector<int> prompt_ids, output_ids;
  std::vector<TokenRouting> prompt_routing, output_routing;
  for (const SnapshotToken& token : snapshot.tokens) {
    (token.routing.is_prompt ? prompt_ids : output_ids).push_back(token.routing.token_id);
    (token.routing.is_prompt ? prompt_routing : output_routing).push_back(token.routing);
  }
  json choice = {{"index", 0},
                 {"text", snapshot.generated_text},
                 {"prompt_token_ids", prompt_ids},
                 {"token_ids", output_ids},
                 {"finish_reason", nullptr}};
  json body = {{"object", "text_completion"}, {"model", snapshot.model_name}};
  if (engine == ServerEngine::vllm) {
    body["prompt_routed_experts"] = routed_experts_to_nested(
        routed_experts_from_routing(prompt_routing, config, LayerAxis::moe_layers));
    choice["routed_experts"] = routed_experts_to_nested(
        routed_experts_from_routing(output_routing, config, LayerAxis::moe_layers));
  } else {
    std::vector<TokenRouting> all = prompt_routing;
    all.insert(all.end(), output_routing.begin(), output_routing.end());
    body["sglext"] = {{"routed_experts", routed_experts_to_int32_base64(routed_experts_from_routing(
                                             all, config, LayerAxis::all_layers))}};
  }
  body["choices"] = json::array({std::move(choice)});
  return body;
}

ServerEngine engine_of_response(const json& body) {
  return body.is_object() && (body.contains("sglext") || body.contains("meta_info"))
             ? ServerEngine::sglang
             : ServerEngine::vllm;
}

}  // namespace moescope
