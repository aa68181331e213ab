#pragma once
// Compares a backend with a reference run written by tools/reference/ or
// tools/train/make_golden.py: for the golden's tokens, the logits at every
// position and, at every MoE layer, the scores, chosen experts, gate weights,
// shared-expert state and mask marks. Used by the golden test and by
// `moescope-cli check`, so a new backend or a freshly trained model is checked
// the same way.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/config.h"
#include "run/backend.h"
#include "run/interventions.h"

namespace moescope {

struct GoldenTolerances {
  double logits_relative = 1e-4;   // L2 error per position over the L2 norm (f32 vs f64)
  double routing_absolute = 1e-5;  // scores, gate weights, shared gate (probabilities)
  // Chosen experts may differ only where the reference's k-th and (k+1)-th
  // scores are closer than this (a near-tie that float32 may break either way).
  double near_tie = 1e-5;
};

struct GoldenReport {
  int positions = 0;
  int layer_decisions = 0;              // positions x MoE layers compared
  int near_ties = 0;                    // decisions whose expert ids differ at a near-tie
  double worst_logits_error = 0;        // relative
  double worst_routing_error = 0;       // absolute
  std::vector<std::string> mismatches;  // "position 3 layer 2: chosen experts differ ..."
  bool ok() const { return mismatches.empty(); }
};

// The golden's "interventions" object: {"disabled": [[layer, expert], ...],
// "shared_disabled": [layer, ...], "top_k": k or null, and optionally (DeepSeek-V3, group
// routing) "select_without_bias" and "no_group_limit": booleans}.
Interventions golden_interventions(const nlohmann::json& golden);

// Runs golden["tokens"] from position 0 (the backend is reset first) with the
// golden's interventions. Throws EngineError for a golden that is not one
// (missing fields, sizes that do not fit `config`).
GoldenReport check_golden(Backend& backend, const ModelConfig& config, const nlohmann::json& golden,
                          const GoldenTolerances& tolerances = {});

}  // namespace moescope
