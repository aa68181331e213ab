#pragma once
// The generation loop: prompt through the backend token by token (traced as
// prefill), then sample until EOS, the token limit, a full context or cancel.
#include <atomic>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "model/config.h"
#include "run/backend.h"
#include "run/interventions.h"
#include "run/routing.h"
#include "run/sampling.h"
#include "tokenizer/tokenizer.h"

namespace moescope {

struct GenerationRequest {
  std::string prompt;
  SamplingSettings sampling;
  Interventions interventions;
  bool capture_routing = true;
  // Each token that ends a backend call carries the logits that call produced
  // (GeneratedToken::next_logits): the GUI's Compare compares two runs'
  // next-token distributions with them.
  bool capture_next_logits = false;
};

struct GeneratedToken {
  std::string text;      // the characters this token made displayable (may be empty)
  TokenRouting routing;  // id, position, prompt flag; layers only when captured
  // With capture_next_logits, on the last prompt token and every generated
  // one: the model's logits for the token after it (before temperature and
  // top-p). Empty otherwise.
  std::vector<float> next_logits = {};
};

enum class StopReason { eos, max_tokens, context_full, cancelled };
const char* stop_reason_name(StopReason reason);

struct GenerationResult {
  std::vector<GeneratedToken> tokens;  // prompt tokens first
  std::string generated_text;
  StopReason stop = StopReason::max_tokens;
  int prompt_tokens = 0;
  int generated_tokens = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
};

using TokenCallback = std::function<void(const GeneratedToken&)>;

class Generator {
 public:
  Generator(Backend& backend, const Tokenizer& tokenizer, const ModelConfig& config)
      : backend_(backend), tokenizer_(tokenizer), config_(config) {}

  // Calls on_token for every prompt and generated token as soon as it exists.
  // `cancel` may be set from another thread; it is checked between tokens.
  // Throws EngineError on invalid interventions or an empty prompt.
  GenerationResult generate(const GenerationRequest& request, const TokenCallback& on_token = {},
                            const std::atomic<bool>* cancel = nullptr);

  // Continues from the backend's KV cache instead of starting afresh: the
  // cache must hold `context_ids` at positions 0..n-1 (more is rewound; none
  // resets it), `prompt_ids` run at positions n, n+1, ... as prompt tokens,
  // then sampling goes on as in generate(). request.prompt is not read. Token
  // texts read on from the context. Throws EngineError on invalid
  // interventions, empty prompt_ids or a context plus prompt past the model's.
  GenerationResult continue_from(std::span<const int> context_ids, std::span<const int> prompt_ids,
                                 const GenerationRequest& request,
                                 const TokenCallback& on_token = {},
                                 const std::atomic<bool>* cancel = nullptr);

 private:
  Backend& backend_;
  const Tokenizer& tokenizer_;
  const ModelConfig& config_;
};

}  // namespace moescope
