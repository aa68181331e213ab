#pragma once
// Where a routing analysis gets its routing: a model run here (BackendRoutingSource)
// or one served by vLLM or SGLang (engine/remote's ServedRoutingSource, expert ids
// alone). The analyses read only this, so local and served runs share them.
#include <string>
#include <vector>

#include "analysis/evaluation.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"

namespace moescope {

struct ModelUnderTest;

class RoutingSource {
 public:
  virtual ~RoutingSource() = default;
  virtual const std::string& name() const = 0;
  virtual const ModelConfig& config() const = 0;
  // Cuts the texts into the token ids sent, and names tokens in the plots.
  virtual const Tokenizer& tokenizer() const = 0;
  // The routing of every token of each stream's windows (evaluation's windows, in
  // order), one label per stream; losses are not measured. Advances `meter` by
  // each window's tokens (throwing Cancelled through it).
  virtual Evaluation route(const std::vector<TokenStream>& streams, const EvalSettings& settings,
                           WorkMeter& meter) = 0;
};

// A model run here: evaluation with routing captured.
class BackendRoutingSource final : public RoutingSource {
 public:
  explicit BackendRoutingSource(const ModelUnderTest& model) : model_(model) {}
  const std::string& name() const override;
  const ModelConfig& config() const override;
  const Tokenizer& tokenizer() const override;
  Evaluation route(const std::vector<TokenStream>& streams, const EvalSettings& settings,
                   WorkMeter& meter) override;

 private:
  const ModelUnderTest& model_;
};

}  // namespace moescope
