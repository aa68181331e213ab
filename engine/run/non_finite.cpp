#include "run/non_finite.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace moescope {
namespace {

bool finite(float v) {
  return std::isfinite(v);
}

// Where the residual stream of the token at `position` first stops being finite.
std::string first_non_finite_layer(Backend& backend, int token_id, int position,
                                   const Interventions& interventions, int num_layers) {
  struct KeepHiddenStates {  // off again however the re-run ends
    Backend& backend;
    explicit KeepHiddenStates(Backend& b) : backend(b) { backend.keep_hidden_states(true); }
    ~KeepHiddenStates() { backend.keep_hidden_states(false); }
  } keep(backend);
  backend.forward_batch(std::span<const int>(&token_id, 1), position, interventions, {},
                        LogitsWanted::last);
  const auto states = backend.hidden_states();
  if (num_layers <= 0 || states.size() % std::size_t(num_layers) != 0)
    return "";  // a backend that keeps no states cannot say
  const std::size_t hidden = states.size() / std::size_t(num_layers);
  for (int layer = 0; layer < num_layers; ++layer) {
    const auto row = states.subspan(std::size_t(layer) * hidden, hidden);
    if (!std::all_of(row.begin(), row.end(), finite))
      return "; the residual stream is first not finite after layer " + std::to_string(layer) +
             " (of " + std::to_string(num_layers) + ")";
  }
  return "; the residual stream is finite after every layer, so the final norm or lm_head "
         "made them";
}

}  // namespace

void check_logits_finite(Backend& backend, std::span<const float> logits, int token_id,
                         int position, const Interventions& interventions, int num_layers,
                         const std::string& where) {
  const auto bad = std::find_if_not(logits.begin(), logits.end(), finite);
  if (bad == logits.end()) return;
  std::string message = "the model's logits at position " + std::to_string(position) +
                        (where.empty() ? "" : " " + where) + " are not finite (" +
                        (std::isnan(*bad) ? "NaN" : "infinite") + " at id " +
                        std::to_string(bad - logits.begin()) + ")";
  message += first_non_finite_layer(backend, token_id, position, interventions, num_layers);
  throw EngineError(message + ": the weights hold NaN or infinity, or the activations overflowed");
}

}  // namespace moescope
