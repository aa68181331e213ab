#pragma once
// One backend against another (the CPU backend, the oracle) on the same tokens:
// logits element-wise and by norm, the residual stream layer by layer, and
// every MoE layer's choice of experts, a difference being a near-tie (the
// reference itself could hardly tell the experts apart) or a real mismatch.
// Used by the CUDA backend's self-check and by `moescope-cli check --backend`.
#include <span>
#include <string>
#include <vector>

#include "model/config.h"
#include "run/backend.h"
#include "run/interventions.h"
#include "run/routing.h"

namespace moescope {

struct CompareTolerances {
  // max |Δ| / max |reference| of the logits: bf16/f16 weights with f32 activations
  // agree to ~1e-6 in practice; 1e-3 leaves room for summation order, not for a bug.
  double logits = 1e-3;
  double hidden = 1e-3;        // the same for each layer's residual stream
  double gate_weights = 1e-4;  // max |Δ| of the gate weights and the shared gate
  double near_tie = 1e-5;      // scores closer than this (relative) are a tie
};

// Element-wise error of a candidate against a reference, accumulated over calls.
struct ErrorStats {
  double max_abs_diff = 0, max_abs_ref = 0;
  double diff_sq = 0, ref_sq = 0;
  std::size_t compared = 0;
  void add(std::span<const float> candidate, std::span<const float> reference);
  double relative() const;    // max |Δ| / max |reference| (a NaN or size mismatch: infinity)
  double norm_ratio() const;  // ||Δ|| / ||reference||
  bool finite = true;
  bool sizes_match = true;
};

enum class RoutingDifference { none, near_tie, mismatch };

// The candidate's expert ids against the reference's, position by position; every
// differing position must pick experts whose reference scores are within
// `near_tie` (relative) of each other to count as a near-tie.
RoutingDifference classify_routing(const LayerRouting& candidate, const LayerRouting& reference,
                                   double near_tie);

struct BackendComparison {
  ErrorStats logits;               // every compared position
  std::vector<ErrorStats> hidden;  // per layer, the last position of each call
  int routing_compared = 0;        // (token, MoE layer) pairs
  int near_ties = 0;
  int mismatches = 0;
  double gate_weight_error = 0;  // max |Δ| over agreeing layers
  // Positions from here on follow a near-tie's other branch and are not compared
  // (-1: none). A flipped expert changes everything after it, legitimately.
  int compared_until = -1;
  std::vector<std::string> problems;  // the first few, readable

  bool passed(const CompareTolerances& tolerances = {}) const;
  // "logits 2.1e-07 (norm 1.3e-07), worst layer 3: 4.0e-07, 48 routing decisions, 0
  // near-ties, 0 mismatches" plus the problems and what exceeded its tolerance.
  std::string summary(const CompareTolerances& tolerances = {}) const;
};

// Runs `prompt` (at least one token) as one batch with every position's logits,
// then `decode_steps` more tokens one at a time (greedy on the reference's
// logits), on both backends from a reset and with the same interventions, and
// compares them. `config` is the model's (both backends run it). Turns
// keep_hidden_states on in both. Throws what a backend throws.
BackendComparison compare_backends(Backend& candidate, Backend& reference,
                                   const ModelConfig& config, std::span<const int> prompt,
                                   int decode_steps, const Interventions& interventions = {},
                                   const CompareTolerances& tolerances = {});

}  // namespace moescope
