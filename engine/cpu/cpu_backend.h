#pragma once
// The reference backend: the forward pass on the CPU, all cores, f32
// activations, weights read from the checkpoint's maps in their own dtype.
#include <vector>

#include "model/model.h"
#include "run/backend.h"

namespace moescope {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const Model& model);

  std::span<const float> forward(int token_id, int pos, const Interventions& interventions,
                                 TokenRouting* trace) override;
  void reset() override;
  std::string name() const override;

 private:
  void attention_block(int layer, int pos);
  void shape_qkv(const LayerWeights& l, float* k, float* v);
  void dense_ffn(const MlpWeights& mlp, float* out);
  void moe_ffn(int layer, const Interventions& interventions, LayerRouting* trace);
  void expert_mlp(const MlpWeights& mlp, float weight, float* accumulate);
  float shared_gate(const LayerWeights& l);

  const Model& model_;
  const ModelConfig& config_;
  std::vector<std::vector<float>> k_cache_;  // per layer [pos, kv_heads * head_dim]
  std::vector<std::vector<float>> v_cache_;  // per layer [pos, kv_heads * head_dim]
  // Scratch, sized once.
  std::vector<float> x_;       // [hidden] residual stream
  std::vector<float> xn_;      // [hidden] normed input of a block
  std::vector<float> q_;       // [heads * head_dim]
  std::vector<float> att_;     // [heads * head_dim] attention output
  std::vector<float> att_scores_;  // [heads * pos]
  std::vector<float> ffn_out_;  // [hidden]
  std::vector<float> hidden_a_, hidden_b_;  // [widest MLP]
  std::vector<float> proj_;    // [hidden]
  std::vector<float> scores_;  // [n_routed_experts]
  std::vector<float> logits_;  // [vocab]
};

}  // namespace moescope
