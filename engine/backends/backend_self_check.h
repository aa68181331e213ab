#pragma once
// A new kind of backend proves itself against the CPU backend before anything it
// computes reaches the screen: a few positions of the bundled DeepSeekMoE model
// and of a bf16 grouped-query fixture (normtopk-bf16-sharded: DeepSeek with a
// dense layer, shared experts, norm_topk_prob, tied embeddings), plain and with
// interventions, prefill and decode, compared by backend_compare.h.
#include <functional>
#include <memory>
#include <string>

#include "model/model.h"
#include "run/backend.h"

namespace moescope {

using BackendMaker = std::function<std::unique_ptr<Backend>(const Model&)>;

// Empty when `make`'s backends agree with the CPU on every check; otherwise what
// differed (model, interventions, the comparison's summary) or why a check could
// not run (a model missing, an EngineError of the backend).
std::string self_check(const BackendMaker& make);

}  // namespace moescope
