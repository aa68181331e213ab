#include "run/generator.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "run/non_finite.h"
#include "run/sampler.h"

namespace moescope {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::eos:
      return "end of sequence";
    case StopReason::max_tokens:
      return "token limit";
    case StopReason::context_full:
      return "context full";
    case StopReason::cancelled:
      return "cancelled";
  }
  return "?";
}

GenerationResult Generator::generate(const GenerationRequest& request,
                                     const TokenCallback& on_token,
                                     const std::atomic<bool>* cancel) {
  request.interventions.validate(config_);
  const std::vector<int> prompt_ids = tokenizer_.encode(request.prompt);
  if (prompt_ids.empty()) throw EngineError("the prompt is empty");
  return continue_from({}, prompt_ids, request, on_token, cancel);
}

GenerationResult Generator::continue_from(std::span<const int> context_ids,
                                          std::span<const int> prompt_ids,
                                          const GenerationRequest& request,
                                          const TokenCallback& on_token,
                                          const std::atomic<bool>* cancel) {
  request.interventions.validate(config_);
  const int max_context = config_.max_position_embeddings;
  if (prompt_ids.empty()) throw EngineError("the prompt is empty");
  const std::size_t total = context_ids.size() + prompt_ids.size();
  if (total > std::size_t(max_context))
    throw EngineError((context_ids.empty() ? "the prompt has " : "the conversation has ") +
                      std::to_string(total) + " tokens, more than the model's context of " +
                      std::to_string(max_context));

  GenerationResult result;
  TextStream stream(tokenizer_, context_ids);
  Sampler sampler(request.sampling);
  if (context_ids.empty()) backend_.reset();
  const auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };

  // Runs tokens through the model in one call and reports each; returns the
  // last one's logits.
  int pos = int(context_ids.size());  // a shorter context than the cache holds rewinds it
  // keep_logits: the last token keeps the call's logits (capture_next_logits).
  auto run = [&](std::span<const int> ids, bool is_prompt, bool keep_logits) {
    std::vector<TokenRouting> traces(request.capture_routing ? ids.size() : 0);
    const auto logits =
        backend_.forward_batch(ids, pos, request.interventions, traces, LogitsWanted::last);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      GeneratedToken token;
      if (!traces.empty()) token.routing = std::move(traces[i]);
      token.routing.is_prompt = is_prompt;
      token.routing.position = pos++;
      token.routing.token_id = ids[i];
      token.text = stream.push(ids[i]);
      if (keep_logits && i + 1 == ids.size())
        token.next_logits.assign(logits.begin(), logits.end());
      if (!is_prompt) result.generated_text += token.text;
      if (on_token) on_token(token);
      result.tokens.push_back(std::move(token));
    }
    return logits;
  };

  auto start = std::chrono::steady_clock::now();
  std::span<const float> logits;
  for (std::size_t first = 0; first < prompt_ids.size(); first += batch_tokens) {
    if (cancelled()) {
      result.stop = StopReason::cancelled;
      return result;
    }
    logits = run(
        prompt_ids.subspan(first, std::min<std::size_t>(batch_tokens, prompt_ids.size() - first)),
        true, request.capture_next_logits && first + batch_tokens >= prompt_ids.size());
  }
  result.prompt_tokens = int(prompt_ids.size());
  result.prefill_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  // The tokenizer's end of sequence, and any other end the model's configs name.
  const auto eos = tokenizer_.eos_id();
  const auto ends_reply = [&](int id) {
    return (eos && id == *eos) ||
           std::find(config_.stop_token_ids.begin(), config_.stop_token_ids.end(), id) !=
               config_.stop_token_ids.end();
  };
  result.stop = StopReason::max_tokens;
  while (result.generated_tokens < request.sampling.max_tokens) {
    if (cancelled()) {
      result.stop = StopReason::cancelled;
      break;
    }
    if (pos >= max_context) {
      result.stop = StopReason::context_full;
      break;
    }
    check_logits_finite(backend_, logits, result.tokens.back().routing.token_id, pos - 1,
                        request.interventions, config_.num_hidden_layers);
    const int next = sampler.sample(logits);
    if (ends_reply(next)) {
      result.stop = StopReason::eos;
      break;
    }
    ++result.generated_tokens;
    logits = run(std::span<const int>(&next, 1), false, request.capture_next_logits);
  }
  const std::string held = stream.flush();
  result.generated_text += held;
  if (!result.tokens.empty()) result.tokens.back().text += held;
  result.decode_seconds = seconds_since(start);
  return result;
}

}  // namespace moescope
