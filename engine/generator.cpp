#include "generator.h"

#include <chrono>

#include "error.h"
#include "sampler.h"

namespace moescope {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::eos: return "end of sequence";
    case StopReason::max_tokens: return "token limit";
    case StopReason::context_full: return "context full";
    case StopReason::cancelled: return "cancelled";
  }
  return "?";
}

GenerationResult Generator::generate(const GenerationRequest& request, const TokenCallback& on_token,
                                     const std::atomic<bool>* cancel) {
  request.interventions.validate(config_);
  const int max_context = config_.max_position_embeddings;
  const std::vector<int> prompt_ids = tokenizer_.encode(request.prompt);
  if (prompt_ids.empty()) throw EngineError("the prompt is empty");
  if (int(prompt_ids.size()) > max_context)
    throw EngineError("the prompt has " + std::to_string(prompt_ids.size()) +
                      " tokens, more than the model's context of " + std::to_string(max_context));

  GenerationResult result;
  TextStream stream(tokenizer_);
  Sampler sampler(request.sampling);
  backend_.reset();
  const auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };

  // Runs one token through the model and reports it; returns the logits.
  int pos = 0;
  auto step = [&](int id, bool is_prompt) {
    GeneratedToken token;
    token.routing.is_prompt = is_prompt;
    const auto logits = backend_.forward(id, pos, request.interventions,
                                         request.capture_routing ? &token.routing : nullptr);
    token.routing.position = pos++;
    token.routing.token_id = id;
    token.text = stream.push(id);
    if (!is_prompt) result.generated_text += token.text;
    if (on_token) on_token(token);
    result.tokens.push_back(std::move(token));
    return logits;
  };

  auto start = std::chrono::steady_clock::now();
  std::span<const float> logits;
  for (int id : prompt_ids) {
    if (cancelled()) {
      result.stop = StopReason::cancelled;
      return result;
    }
    logits = step(id, true);
  }
  result.prompt_tokens = int(prompt_ids.size());
  result.prefill_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  const auto eos = tokenizer_.eos_id();
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
    const int next = sampler.sample(logits);
    if (eos && next == *eos) {
      result.stop = StopReason::eos;
      break;
    }
    ++result.generated_tokens;
    logits = step(next, false);
  }
  const std::string held = stream.flush();
  result.generated_text += held;
  if (!result.tokens.empty()) result.tokens.back().text += held;
  result.decode_seconds = seconds_since(start);
  return result;
}

}  // namespace moescope
