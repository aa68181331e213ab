#pragma once
// The reference backend: the forward pass on the CPU, all cores, f32
// activations, weights read from the checkpoint's maps in their own dtype (quantized
// matrices from the backend's interleaved copy, cpu/interleaved_weights.h).
// A batch runs every projection as one matrix product and each chosen expert
// once over the tokens that chose it; its results equal token-by-token runs.
#include <optional>
#include <vector>

#include "cpu/interleaved_weights.h"
#include "cpu/latent_attention.h"
#include "cpu/thread_choice.h"
#include "model/model.h"
#include "run/backend.h"

namespace moescope {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const Model& model);

  // Runs the batch with the thread count its ThreadChoice picks (one for single tokens,
  // one for batches: their times per token differ).
  std::span<const float> forward_batch(std::span<const int> token_ids, int pos0,
                                       const Interventions& interventions,
                                       std::span<TokenRouting> traces,
                                       LogitsWanted wanted) override;
  void reset() override;
  std::string name() const override;
  void keep_hidden_states(bool on) override;
  std::span<const float> hidden_states() const override;

 private:
  std::span<const float> run_batch(std::span<const int> token_ids, int pos0,
                                   const Interventions& interventions,
                                   std::span<TokenRouting> traces, LogitsWanted wanted);
  void size_scratch(int n);
  void attention_block(int layer, int pos0, int n);
  void shape_qkv(const LayerWeights& l, float* q, float* k, float* v);
  void moe_ffn(int layer, int n, const Interventions& interventions,
               std::span<TokenRouting> traces);
  // out[n, hidden] = the SiLU-gated MLP of x[n, hidden].
  void mlp_rows(const MlpWeights& mlp, const float* x, int n, float* out);
  void final_logits(int n, LogitsWanted wanted);

  const ModelConfig& config_;
  cpu::InterleavedWeights weights_;
  std::optional<cpu::LatentAttention> mla_;  // DeepSeek-V2/V3: k_cache_ holds its latents
  std::vector<std::vector<float>> k_cache_;  // per layer [pos, kv_heads * head_dim] (MLA:
                                             // [pos, kv_lora_rank + qk_rope_head_dim])
  std::vector<std::vector<float>> v_cache_;  // per layer [pos, kv_heads * head_dim]
  cpu::ThreadChoice decode_threads_, batch_threads_;
  bool keep_hidden_ = false;
  std::vector<float> hidden_;  // [layers, hidden] when keep_hidden_
  // Scratch, [n, ...] for a batch of n tokens; grown as batches need.
  std::vector<float> x_;                           // [n, hidden] residual stream
  std::vector<float> xn_;                          // [n, hidden] normed input of a block
  std::vector<float> q_;                           // [n, heads * head_dim]
  std::vector<float> rope_cos_, rope_sin_;         // [n, head_dim / 2] the batch's angles
  std::vector<float> att_;                         // [n, heads * head_dim] attention output
  std::vector<float> proj_;                        // [n, hidden]
  std::vector<float> ffn_out_;                     // [n, hidden]
  std::vector<float> hidden_a_, hidden_b_;         // [n, widest MLP]
  std::vector<float> scores_;                      // [n, n_routed_experts]
  std::vector<float> gathered_in_, gathered_out_;  // [n, hidden] one expert's tokens
  std::vector<float> routed_out_;    // [n, k, hidden] each chosen expert's output, by rank
  std::vector<float> shared_out_;    // [n, hidden]
  std::vector<float> shared_logit_;  // [n] Qwen2-MoE shared-expert gate logits
  std::vector<float> logits_;        // [vocab] or [n, vocab]
};

}  // namespace moescope
