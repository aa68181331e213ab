#include "cpu/cpu_backend.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <omp.h>

#include "core/error.h"
#include "cpu/cpu_ops.h"
#include "run/top_k.h"

namespace moescope {
namespace {

void add_scaled(float* acc, const float* x, float weight, int n) {
  for (int i = 0; i < n; ++i) acc[i] += weight * x[i];
}

void add_bias(float* x, const std::vector<float>& bias) {
  add_scaled(x, bias.data(), 1.0f, static_cast<int>(bias.size()));
}

void clamp(float* x, int n, float limit) {
  for (int i = 0; i < n; ++i) x[i] = std::clamp(x[i], -limit, limit);
}

bool same_set(std::vector<int> a, std::vector<int> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

}  // namespace

CpuBackend::CpuBackend(const Model& model)
    : model_(model),
      config_(model.config()),
      k_cache_(config_.num_hidden_layers),
      v_cache_(config_.num_hidden_layers),
      x_(config_.hidden_size),
      xn_(config_.hidden_size),
      q_(std::size_t(config_.num_attention_heads) * config_.head_dim),
      att_(q_.size()),
      ffn_out_(config_.hidden_size),
      hidden_a_(std::max({config_.intermediate_size, config_.moe_intermediate_size,
                          config_.shared_expert_intermediate_size})),
      hidden_b_(hidden_a_.size()),
      proj_(config_.hidden_size),
      scores_(config_.n_routed_experts),
      logits_(config_.vocab_size) {}

void CpuBackend::reset() {
  for (auto& k : k_cache_) k.clear();
  for (auto& v : v_cache_) v.clear();
}

std::string CpuBackend::name() const {
  const int threads = omp_get_max_threads();
  return "CPU (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
}

std::span<const float> CpuBackend::forward(int token_id, int pos,
                                           const Interventions& interventions,
                                           TokenRouting* trace) {
  const ModelConfig& c = config_;
  const ModelWeights& w = model_.weights();
  if (token_id < 0 || token_id >= c.vocab_size)
    throw EngineError("token id " + std::to_string(token_id) + " out of range (vocabulary of " +
                      std::to_string(c.vocab_size) + ")");
  if (pos >= c.max_position_embeddings)
    throw EngineError("context full: position " + std::to_string(pos) +
                      " is beyond max_position_embeddings " +
                      std::to_string(c.max_position_embeddings));
  assert(k_cache_[0].size() >= std::size_t(pos) * c.num_key_value_heads * c.head_dim);  // rewind ok
  if (trace) {
    trace->position = pos;
    trace->token_id = token_id;
    trace->layers.clear();
  }

  widen(w.embed, std::int64_t(token_id) * c.hidden_size, c.hidden_size, x_.data());
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const LayerWeights& layer = w.layers[i];
    cpu::rmsnorm(xn_.data(), x_.data(), layer.attn_norm.data(), c.hidden_size, c.rms_norm_eps);
    attention_block(i, pos);
    add_scaled(x_.data(), proj_.data(), 1.0f, c.hidden_size);

    cpu::rmsnorm(xn_.data(), x_.data(), layer.ffn_norm.data(), c.hidden_size, c.rms_norm_eps);
    if (layer.is_moe)
      moe_ffn(i, interventions, trace ? &trace->layers.emplace_back() : nullptr);
    else
      dense_ffn(layer.dense, ffn_out_.data());
    add_scaled(x_.data(), ffn_out_.data(), 1.0f, c.hidden_size);
  }
  cpu::rmsnorm(xn_.data(), x_.data(), w.final_norm.data(), c.hidden_size, c.rms_norm_eps);
  cpu::matvec(w.lm_head, xn_.data(), logits_.data());
  return logits_;
}

void CpuBackend::attention_block(int layer, int pos) {
  const ModelConfig& c = config_;
  const LayerWeights& l = model_.weights().layers[layer];
  const int kv_dim = c.num_key_value_heads * c.head_dim;
  auto& k_cache = k_cache_[layer];  // [pos + 1, kv_dim]
  auto& v_cache = v_cache_[layer];  // [pos + 1, kv_dim]
  k_cache.resize(std::size_t(pos + 1) * kv_dim);
  v_cache.resize(std::size_t(pos + 1) * kv_dim);
  float* k = k_cache.data() + std::size_t(pos) * kv_dim;
  float* v = v_cache.data() + std::size_t(pos) * kv_dim;

  cpu::matvec(l.wq, xn_.data(), q_.data());
  cpu::matvec(l.wk, xn_.data(), k);
  cpu::matvec(l.wv, xn_.data(), v);
  shape_qkv(l, k, v);
  const float rope_pos = float(pos) / c.rope_linear_factor;
  cpu::rope(q_.data(), c.num_attention_heads, c.head_dim, rope_pos, c.rope_theta);
  cpu::rope(k, c.num_key_value_heads, c.head_dim, rope_pos, c.rope_theta);

  att_scores_.resize(std::size_t(c.num_attention_heads) * (pos + 1));
  cpu::attention(att_.data(), q_.data(), k_cache.data(), v_cache.data(), pos + 1,
                 c.num_attention_heads, c.num_key_value_heads, c.head_dim, att_scores_.data());
  cpu::matvec(l.wo, att_.data(), proj_.data());
}

// Family steps between the q/k/v projections and RoPE, in HF's order: biases
// (Qwen2-MoE), RMSNorm over the whole q and k projections (OLMoE), clipping (OLMoE).
void CpuBackend::shape_qkv(const LayerWeights& l, float* k, float* v) {
  const ModelConfig& c = config_;
  const int q_dim = c.num_attention_heads * c.head_dim;
  const int kv_dim = c.num_key_value_heads * c.head_dim;
  if (c.qkv_bias) {
    add_bias(q_.data(), l.bq);
    add_bias(k, l.bk);
    add_bias(v, l.bv);
  }
  if (c.qk_norm) {
    cpu::rmsnorm(q_.data(), q_.data(), l.q_norm.data(), q_dim, c.rms_norm_eps);
    cpu::rmsnorm(k, k, l.k_norm.data(), kv_dim, c.rms_norm_eps);
  }
  if (c.clip_qkv) {
    clamp(q_.data(), q_dim, *c.clip_qkv);
    clamp(k, kv_dim, *c.clip_qkv);
    clamp(v, kv_dim, *c.clip_qkv);
  }
}

void CpuBackend::dense_ffn(const MlpWeights& mlp, float* out) {
  std::fill(out, out + config_.hidden_size, 0.0f);
  expert_mlp(mlp, 1.0f, out);
}

void CpuBackend::expert_mlp(const MlpWeights& mlp, float weight, float* accumulate) {
  const int width = static_cast<int>(mlp.gate.shape[0]);
  cpu::matvec(mlp.gate, xn_.data(), hidden_a_.data());
  cpu::matvec(mlp.up, xn_.data(), hidden_b_.data());
  cpu::silu_mul(hidden_a_.data(), hidden_b_.data(), width);
  cpu::matvec(mlp.down, hidden_a_.data(), proj_.data());
  add_scaled(accumulate, proj_.data(), weight, config_.hidden_size);
}

// Qwen2-MoE: sigmoid(shared_expert_gate · x), the weight of the shared expert's output.
float CpuBackend::shared_gate(const LayerWeights& l) {
  float logit = 0.0f;
  cpu::matvec(*l.shared_gate, xn_.data(), &logit);  // [1, hidden] · [hidden]
  return 1.0f / (1.0f + std::exp(-logit));
}

void CpuBackend::moe_ffn(int layer, const Interventions& interventions, LayerRouting* trace) {
  const ModelConfig& c = config_;
  const LayerWeights& l = model_.weights().layers[layer];
  cpu::matvec(l.router, xn_.data(), scores_.data());
  cpu::softmax(scores_.data(), c.n_routed_experts);

  // Disabled experts keep their probability but cannot be selected.
  const std::vector<bool> allowed = interventions.selectable(layer, scores_);
  const int k = interventions.top_k.value_or(c.num_experts_per_tok);
  const std::vector<int> ids = top_k(scores_, k, allowed);

  std::vector<float> weights(ids.size());
  float sum = 0.0f;
  for (std::size_t j = 0; j < ids.size(); ++j) sum += weights[j] = scores_[ids[j]];
  // DeepSeek's HF code leaves a single expert's raw probability alone (and adds 1e-20 to
  // the sum, which no f32 sum of top-k probabilities notices); the others always divide.
  if (c.norm_topk_prob && (k > 1 || c.norm_single_expert))
    for (float& wj : weights) wj /= sum + 1e-20f;

  std::fill(ffn_out_.begin(), ffn_out_.end(), 0.0f);
  for (std::size_t j = 0; j < ids.size(); ++j) expert_mlp(l.experts[ids[j]], weights[j], ffn_out_.data());
  const bool shared_active = l.shared && !interventions.shared_disabled(layer);
  const float shared_weight = l.shared_gate ? shared_gate(l) : 1.0f;
  if (shared_active) expert_mlp(*l.shared, shared_weight, ffn_out_.data());

  if (trace) {
    trace->layer = layer;
    trace->scores = scores_;
    trace->shared_active = shared_active;
    trace->shared_gate = shared_weight;
    trace->mask_changed = (!allowed.empty() || interventions.top_k) &&
                          !same_set(ids, top_k(scores_, c.num_experts_per_tok, {}));
    trace->expert_ids = ids;
    trace->gate_weights = std::move(weights);
  }
}

}  // namespace moescope
