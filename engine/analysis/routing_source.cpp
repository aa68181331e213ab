#include "analysis/routing_source.h"

#include "analysis/experiments.h"

namespace moescope {

const std::string& BackendRoutingSource::name() const {
  return model_.name;
}

const ModelConfig& BackendRoutingSource::config() const {
  return model_.config;
}

const Tokenizer& BackendRoutingSource::tokenizer() const {
  return model_.tokenizer;
}

Evaluation BackendRoutingSource::route(const std::vector<TokenStream>& streams,
                                       const EvalSettings& settings, WorkMeter& meter) {
  EvalSettings eval = settings;
  eval.capture_routing = true;
  return evaluate(model_.backend, model_.config, streams, {}, eval, meter);
}

}  // namespace moescope
