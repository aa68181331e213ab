#include "analysis/evaluation.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "run/non_finite.h"
#include "run/vector_exp.h"

namespace moescope {

namespace {

// A tokenizer with a larger vocabulary than the model's would read past the logits.
void check_target(std::size_t vocab, int target) {
  if (target < 0 || std::size_t(target) >= vocab)
    throw EngineError("token id " + std::to_string(target) + " has no logit (the model has " +
                      std::to_string(vocab) + "): the tokenizer does not belong to this model");
}

// -log softmax(logits)[target], in double for a stable sum over many tokens (the
// exponentials four at a time, then summed in order).
double negative_log_likelihood(std::span<const float> logits, int target) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  thread_local std::vector<double> e;
  e.resize(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i) e[i] = static_cast<double>(logits[i]) - max_logit;
  exp_values(e.data(), e.data(), int(e.size()));
  double sum = 0.0;
  for (const double v : e) sum += v;
  return std::log(sum) + max_logit - logits[target];
}

}  // namespace

int window_count(const TokenStream& stream, int window) {
  return stream.ids.size() > 1 ? static_cast<int>((stream.ids.size() - 1) / window) : 0;
}

std::vector<TokenStream> tokenize_text_set(const Tokenizer& tokenizer,
                                           const std::vector<LabelledText>& texts,
                                           const EvalSettings& settings) {
  std::vector<TokenStream> streams;
  for (const LabelledText& text : texts) {
    TokenStream stream{text.label, {}};
    for (const std::string& document : text.documents) {
      if (static_cast<int>(stream.ids.size()) > settings.tokens_per_label) break;
      const std::vector<int> ids = tokenizer.encode(document);
      stream.ids.insert(stream.ids.end(), ids.begin(), ids.end());
      if (tokenizer.eos_id()) stream.ids.push_back(*tokenizer.eos_id());
    }
    // One token more than read, so the last read token still has a target.
    if (static_cast<int>(stream.ids.size()) > settings.tokens_per_label + 1)
      stream.ids.resize(settings.tokens_per_label + 1);
    streams.push_back(std::move(stream));
  }
  return streams;
}

long evaluation_cost(const std::vector<TokenStream>& streams, const EvalSettings& settings) {
  long tokens = 0;
  for (const TokenStream& s : streams)
    tokens += static_cast<long>(window_count(s, settings.window)) * settings.window;
  return tokens;
}

double Evaluation::mean_loss() const {
  if (labels.empty()) return 0.0;
  double sum = 0.0;
  for (const LabelEvaluation& l : labels) sum += l.loss();
  return sum / labels.size();
}

Evaluation evaluate(Backend& backend, const ModelConfig& config,
                    const std::vector<TokenStream>& streams, const Interventions& interventions,
                    const EvalSettings& settings, WorkMeter& meter) {
  Evaluation out;
  for (const TokenStream& stream : streams) {
    LabelEvaluation label;
    label.label = stream.label;
    const std::string where = "in a window of '" + stream.label + "'";
    const int windows = window_count(stream, settings.window);
    for (int w = 0; w < windows; ++w) {
      backend.reset();
      const int* window = stream.ids.data() + static_cast<std::size_t>(w) * settings.window;
      for (int pos0 = 0; pos0 < settings.window; pos0 += batch_tokens) {
        const int n = std::min(batch_tokens, settings.window - pos0);
        std::vector<TokenRouting> routing(settings.capture_routing ? n : 0);
        const std::span<const float> logits =
            backend.forward_batch(std::span<const int>(window + pos0, n), pos0, interventions,
                                  routing, LogitsWanted::all);
        const std::size_t vocab = logits.size() / n;
        const int* targets = window + pos0 + 1;
        for (int t = 0; t < n; ++t) {
          check_logits_finite(backend, logits.subspan(t * vocab, vocab), window[pos0 + t], pos0 + t,
                              interventions, config.num_hidden_layers, where);
          check_target(vocab, targets[t]);
        }
        // The tokens' losses in parallel (a vocabulary of exponentials each), summed in order.
        std::vector<double> losses(n);
#pragma omp parallel for schedule(static)
        for (int t = 0; t < n; ++t)
          losses[t] = negative_log_likelihood(logits.subspan(t * vocab, vocab), targets[t]);
        for (const double loss : losses) label.loss_sum += loss;
        label.predicted += n;
        for (TokenRouting& r : routing) label.routing.push_back(std::move(r));
        meter.advance(n);
      }
    }
    out.labels.push_back(std::move(label));
  }
  return out;
}

}  // namespace moescope
