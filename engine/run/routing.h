#pragma once
// Plain routing records: what every MoE layer chose for one token. These cross
// every boundary (engine -> CLI, snapshot, GUI), so they hold no pointers.
#include <cstdint>
#include <vector>

namespace moescope {

// How much of the gate a record holds. A local run knows everything; a model
// served by vLLM or SGLang reports only the chosen expert ids, best first (their
// ranks), so its records say so rather than carrying zeros for the rest.
enum class RoutingDetail {
  full,      // scores and gate_weights filled
  ids_only,  // scores and gate_weights empty: unknown, not zero
};

struct LayerRouting {
  int layer = 0;              // index among all layers (dense layers have no record)
  std::vector<float> scores;  // [n_routed_experts] router probabilities (softmax, or
                              // sigmoid for DeepSeek-V3): the gate weights come from these
  // [n_routed_experts] what the top-k ranked when it differs from `scores`: DeepSeek-V3's
  // scores + e_score_correction_bias. Empty when the scores themselves select.
  std::vector<float> selection_scores;
  std::vector<int> groups;          // group routing: the groups kept, ascending; else empty
  std::vector<int> expert_ids;      // [k] chosen routed experts, best first
  std::vector<float> gate_weights;  // [k] weights applied to the chosen experts' outputs
  bool shared_active = true;        // shared experts applied to this token
  float shared_gate = 1.0f;         // weight of the shared experts' output: 1, or for
                                    // Qwen2-MoE sigmoid(shared_expert_gate · x) (also
                                    // computed when the shared expert is switched off)
  bool mask_changed = false;        // masks or the k override changed the chosen set
  RoutingDetail detail = RoutingDetail::full;
};

struct TokenRouting {
  int position = 0;
  int token_id = 0;
  bool is_prompt = false;            // prefill token (true) or generated (false)
  std::vector<LayerRouting> layers;  // one per MoE layer, in layer order
};

}  // namespace moescope
