#pragma once
// Held-out evaluation: next-token loss of a model over labelled texts, with
// optional routing interventions, and the routing of every token it read.
// Texts are cut into windows of `window` + 1 tokens as the trainer's held-out
// loss does, so the numbers of both agree.
#include <vector>

#include "analysis/text_set.h"
#include "model/config.h"
#include "run/backend.h"
#include "run/interventions.h"
#include "run/routing.h"
#include "run/run_control.h"
#include "tokenizer/tokenizer.h"

namespace moescope {

struct EvalSettings {
  int tokens_per_label = 1024;  // at most this many tokens of each label are read
  int window = 128;             // tokens of context per window (the trainer's sequence)
  bool capture_routing = false;
};

// One label's documents as a token stream: BOS (when the tokenizer adds one),
// the document, EOS (when the model has one), for each document in turn.
struct TokenStream {
  std::string label;
  std::vector<int> ids;
};

std::vector<TokenStream> tokenize_text_set(const Tokenizer& tokenizer,
                                           const std::vector<LabelledText>& texts,
                                           const EvalSettings& settings);

// Windows of `window` + 1 tokens in `stream` (window w starts at token w * window).
int window_count(const TokenStream& stream, int window);

// Tokens a model reads to evaluate `streams` (for progress totals).
long evaluation_cost(const std::vector<TokenStream>& streams, const EvalSettings& settings);

struct LabelEvaluation {
  std::string label;
  double loss_sum = 0.0;              // summed negative log-likelihood, nats
  long predicted = 0;                 // tokens predicted
  std::vector<TokenRouting> routing;  // per token read, when captured; windows in order

  double loss() const { return predicted ? loss_sum / predicted : 0.0; }
};

struct Evaluation {
  std::vector<LabelEvaluation> labels;
  // The mean of the labels' losses (each domain counts once, as in the model card).
  double mean_loss() const;
};

// `interventions` must have been validated against the model (`config`, which
// `backend` runs). Throws Cancelled when the meter's flag is set, EngineError on
// non-finite logits (naming the label, the position and the first layer).
Evaluation evaluate(Backend& backend, const ModelConfig& config,
                    const std::vector<TokenStream>& streams, const Interventions& interventions,
                    const EvalSettings& settings, WorkMeter& meter);

}  // namespace moescope
