#include "wire/completion.h"

#include <climits>

#include "core/error.h"
#include "core/json.h"

namespace moescope {

using nlohmann::json;

namespace {

const json* member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::vector<int> token_ids(const json& value, const std::string& field) {
  if (!value.is_array()) throw EngineError(field + ": expected a list of token ids");
  std::vector<int> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const json& id = value[i];
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > INT_MAX)
      throw EngineError(field + "[" + std::to_string(i) + "]: expected a token id, got " +
                        id.dump());
    out.push_back(id.get<int>());
  }
  return out;
}

std::string string_or_empty(const json* value, const std::string& field) {
  if (!value) return {};
  if (!value->is_string()) throw EngineError(field + ": expected a string");
  return value->get<std::string>();
}

std::vector<std::string> logprob_pieces(const json& choice, const std::string& field) {
  const json* logprobs = member(choice, "logprobs");
  const json* tokens = logprobs ? member(*logprobs, "tokens") : nullptr;
  if (!tokens) return {};
  if (!tokens->is_array()) throw EngineError(field + ".logprobs.tokens: expected a list");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    if (!(*tokens)[i].is_string())
      throw EngineError(field + ".logprobs.tokens[" + std::to_string(i) + "]: expected a string");
    out.push_back((*tokens)[i].get<std::string>());
  }
  return out;
}

RoutedExperts unknown_rows(int rows, int layers, int top_k) {
  RoutedExperts out;
  out.tokens = rows;
  out.layers = layers;
  out.top_k = top_k;
  out.ids.assign(std::size_t(rows) * layers * top_k, RoutedExperts::unknown);
  return out;
}

void append_rows(RoutedExperts& to, const RoutedExperts& rows, const std::string& field) {
  if (rows.tokens && to.tokens && (rows.layers != to.layers || rows.top_k != to.top_k))
    throw EngineError(field + ": " + std::to_string(rows.layers) + " x " +
                      std::to_string(rows.top_k) + " per token, but the prompt's routing has " +
                      std::to_string(to.layers) + " x " + std::to_string(to.top_k));
  if (!to.tokens) {
    to.layers = rows.layers;
    to.top_k = rows.top_k;
  }
  to.tokens += rows.tokens;
  to.ids.insert(to.ids.end(), rows.ids.begin(), rows.ids.end());
}

// A choice's routing: the whole sequence, or (vLLM 0.21, and the newer per-choice
// arrays when shorter than the sequence less its last token) the generated tokens only.
RoutedExperts whole_sequence(const json* prompt_routing, const RoutedExperts& choice_rows,
                             int prompt_tokens, int output_tokens, const ModelConfig& config,
                             const std::string& source) {
  if (prompt_routing) {
    const std::string field = source + ": prompt_routed_experts";
    RoutedExperts out = routed_experts_from_json(*prompt_routing, config.num_hidden_layers,
                                                 config.num_experts_per_tok, field);
    if (out.tokens != prompt_tokens)
      throw EngineError(field + ": " + std::to_string(out.tokens) + " tokens, but the prompt has " +
                        std::to_string(prompt_tokens));
    append_rows(out, choice_rows, source + ": choices[0].routed_experts");
    return out;
  }
  if (choice_rows.tokens >= prompt_tokens + output_tokens - 1) return choice_rows;
  if (choice_rows.tokens <= output_tokens) {
    RoutedExperts out = unknown_rows(prompt_tokens, choice_rows.layers, choice_rows.top_k);
    append_rows(out, choice_rows, source + ": choices[0].routed_experts");
    return out;
  }
  throw EngineError(source + ": choices[0].routed_experts: " + std::to_string(choice_rows.tokens) +
                    " tokens of routing fit neither the " + std::to_string(output_tokens) +
                    " generated tokens nor all " + std::to_string(prompt_tokens + output_tokens));
}

ServerCompletion from_openai(const json& body, const ModelConfig& config,
                             const std::string& source) {
  ServerCompletion out;
  const json* choices = member(body, "choices");
  if (!choices || !choices->is_array() || choices->empty())
    throw EngineError(source + ": choices: expected a list with one completion");
  const json& choice = (*choices)[0];
  const std::string at = source + ": choices[0]";
  if (!choice.is_object()) throw EngineError(at + ": expected an object");
  out.text = string_or_empty(member(choice, "text"), at + ".text");
  out.finish_reason = string_or_empty(member(choice, "finish_reason"), at + ".finish_reason");
  const json* prompt_ids = member(choice, "prompt_token_ids");
  if (!prompt_ids) prompt_ids = member(body, "prompt_token_ids");
  const json* output_ids = member(choice, "token_ids");
  if (!prompt_ids || !output_ids)
    throw EngineError(at +
                      ": no prompt_token_ids or token_ids (the request asks for them with "
                      "\"return_token_ids\": true)");
  out.prompt_ids = token_ids(*prompt_ids, at + ".prompt_token_ids");
  out.output_ids = token_ids(*output_ids, at + ".token_ids");
  out.output_pieces = logprob_pieces(choice, at);

  const json* sglext = member(body, "sglext");
  const json* sglang_routing = sglext ? member(*sglext, "routed_experts") : nullptr;
  const json* vllm_routing = member(choice, "routed_experts");
  const int prompt = int(out.prompt_ids.size()), output = int(out.output_ids.size());
  if (sglang_routing) {
    out.routing =
        routed_experts_from_json(*sglang_routing, config.num_hidden_layers,
                                 config.num_experts_per_tok, source + ": sglext.routed_experts");
  } else if (vllm_routing) {
    const RoutedExperts rows =
        routed_experts_from_json(*vllm_routing, config.num_hidden_layers,
                                 config.num_experts_per_tok, at + ".routed_experts");
    out.routing =
        whole_sequence(member(body, "prompt_routed_experts"), rows, prompt, output, config, source);
  }
  return out;
}

// SGLang's native /generate: {"text", "output_ids", "meta_info": {"routed_experts", ...}}.
ServerCompletion from_sglang_generate(const json& body, const ModelConfig& config,
                                      const std::string& source) {
  ServerCompletion out;
  const json& meta = *member(body, "meta_info");
  out.text = string_or_empty(member(body, "text"), source + ": text");
  const json* output_ids = member(body, "output_ids");
  const json* prompt_ids = member(body, "prompt_token_ids");
  if (!prompt_ids) prompt_ids = member(meta, "prompt_token_ids");
  if (!prompt_ids) prompt_ids = member(body, "input_ids");
  if (!output_ids || !prompt_ids)
    throw EngineError(source +
                      ": no output_ids or prompt_token_ids (input_ids): the routing "
                      "needs the token ids it belongs to");
  out.prompt_ids = token_ids(*prompt_ids, source + ": prompt_token_ids");
  out.output_ids = token_ids(*output_ids, source + ": output_ids");
  if (const json* finish = member(meta, "finish_reason"); finish && finish->is_object())
    out.finish_reason = string_or_empty(member(*finish, "type"), source + ": finish_reason.type");
  if (const json* routing = member(meta, "routed_experts"))
    out.routing =
        routed_experts_from_json(*routing, config.num_hidden_layers, config.num_experts_per_tok,
                                 source + ": meta_info.routed_experts");
  return out;
}

}  // namespace

const char* server_engine_name(ServerEngine engine) {
  return engine == ServerEngine::vllm ? "vllm" : "sglang";
}

std::optional<std::string> server_error_message(const json& body) {
  if (!body.is_object()) return std::nullopt;
  const json* error = member(body, "error");
  const json* message = nullptr;
  if (error && error->is_object())
    message = member(*error, "message");
  else if (error && error->is_string())
    message = error;
  else if (const json* object = member(body, "object"); object && *object == "error")
    message = member(body, "message");
  else
    return std::nullopt;
  return message && message->is_string() ? message->get<std::string>()
                                         : std::string("(no message)");
}

ServerCompletion completion_from_json(const json& body, const ModelConfig& config,
                                      const std::string& source) {
  if (const auto error = server_error_message(body))
    throw EngineError(source + ": the server answered with an error: " + *error);
  if (member(body, "choices")) return from_openai(body, config, source);
  if (const json* meta = member(body, "meta_info"); meta && meta->is_object())
    return from_sglang_generate(body, config, source);
  throw EngineError(source +
                    ": neither a completion (choices) nor an SGLang /generate answer "
                    "(meta_info)");
}

std::vector<int> CompletionStream::add_event(std::string_view data) {
  const std::string at = source_ + " (event " + std::to_string(++events_) + ")";
  if (done_) throw EngineError(at + ": data after [DONE]");
  if (data == "[DONE]") {
    done_ = true;
    return {};
  }
  const json event = parse_json(data, at);
  if (const auto error = server_error_message(event))
    throw EngineError(at + ": the server answered with an error: " + *error);
  if (const json* sglext = member(event, "sglext"))
    if (const json* routing = member(*sglext, "routed_experts"))
      completion_.routing =
          routed_experts_from_json(*routing, config_.num_hidden_layers, config_.num_experts_per_tok,
                                   at + ": sglext.routed_experts");
  const json* choices = member(event, "choices");
  if (!choices || !choices->is_array() || choices->empty()) return {};
  const json& choice = (*choices)[0];
  const std::string where = at + ": choices[0]";
  if (!choice.is_object()) throw EngineError(where + ": expected an object");
  if (const json* prompt = member(choice, "prompt_token_ids"))
    completion_.prompt_ids = token_ids(*prompt, where + ".prompt_token_ids");
  completion_.text += string_or_empty(member(choice, "text"), where + ".text");
  if (const json* finish = member(choice, "finish_reason"))
    completion_.finish_reason = string_or_empty(finish, where + ".finish_reason");
  const json* ids = member(choice, "token_ids");
  if (!ids) return {};
  std::vector<int> added = token_ids(*ids, where + ".token_ids");
  std::vector<std::string> pieces = logprob_pieces(choice, where);
  if (!pieces.empty() && pieces.size() != added.size())
    throw EngineError(where + ".logprobs.tokens: " + std::to_string(pieces.size()) +
                      " pieces for " + std::to_string(added.size()) + " token ids");
  completion_.output_ids.insert(completion_.output_ids.end(), added.begin(), added.end());
  completion_.output_pieces.insert(completion_.output_pieces.end(), pieces.begin(), pieces.end());
  return added;
}

}  // namespace moescope
