#include "cpu/cpu_backend.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "cpu/attention.h"
#include "cpu/cpu_ops.h"
#include "cpu/expert_choice.h"
#include "model/memory_check.h"
#include "run/batch_check.h"

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

// Grows a scratch buffer; never shrinks, so a long prefill pays once.
void fit(std::vector<float>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

}  // namespace

CpuBackend::CpuBackend(const Model& model)
    : config_(model.config()),
      // Half the RAM at most: the copies replace the maps' pages in memory, which the
      // system may drop once read.
      weights_(model.weights(), physical_memory_bytes() / 2),
      k_cache_(config_.num_hidden_layers),
      v_cache_(config_.num_hidden_layers) {
  if (config_.mla) mla_.emplace(config_);
}

void CpuBackend::reset() {
  for (auto& k : k_cache_) k.clear();
  for (auto& v : v_cache_) v.clear();
}

std::string CpuBackend::name() const {
  const int threads = cpu::available_threads();
  return "CPU (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
}

void CpuBackend::keep_hidden_states(bool on) {
  keep_hidden_ = on;
  hidden_.assign(on ? std::size_t(config_.num_hidden_layers) * config_.hidden_size : 0, 0.0f);
}

std::span<const float> CpuBackend::hidden_states() const {
  return hidden_;
}

void CpuBackend::size_scratch(int n) {
  const ModelConfig& c = config_;
  const std::size_t rows = n;
  const std::size_t hidden = c.hidden_size;
  const std::size_t q_dim = std::size_t(c.num_attention_heads) * c.head_dim;
  const std::size_t widest =
      std::max({c.intermediate_size, c.moe_intermediate_size, c.shared_expert_intermediate_size});
  for (auto* v : {&x_, &xn_, &proj_, &ffn_out_, &gathered_in_, &gathered_out_, &shared_out_})
    fit(*v, rows * hidden);
  fit(q_, rows * q_dim);
  fit(att_, rows * q_dim);
  fit(hidden_a_, rows * widest);
  fit(hidden_b_, rows * widest);
  fit(scores_, rows * c.n_routed_experts);
  fit(shared_logit_, rows);
}

std::span<const float> CpuBackend::forward_batch(std::span<const int> token_ids, int pos0,
                                                 const Interventions& interventions,
                                                 std::span<TokenRouting> traces,
                                                 LogitsWanted wanted) {
  cpu::ThreadChoice& choice = token_ids.size() == 1 ? decode_threads_ : batch_threads_;
  omp_set_num_threads(choice.next());
  const auto start = std::chrono::steady_clock::now();
  struct Restore {  // the calling thread's own count, also when the batch throws
    ~Restore() { omp_set_num_threads(cpu::available_threads()); }
  } restore;
  const std::span<const float> logits = run_batch(token_ids, pos0, interventions, traces, wanted);
  choice.record(std::chrono::steady_clock::now() - start, int(token_ids.size()));
  return logits;
}

std::span<const float> CpuBackend::run_batch(std::span<const int> token_ids, int pos0,
                                             const Interventions& interventions,
                                             std::span<TokenRouting> traces, LogitsWanted wanted) {
  const std::size_t cached =
      k_cache_[0].size() / (mla_ ? std::size_t(mla_->cache_width())
                                 : std::size_t(config_.num_key_value_heads) * config_.head_dim);
  check_batch(config_, token_ids, pos0, cached, traces);
  const ModelConfig& c = config_;
  const ModelWeights& w = weights_.weights();
  const int n = static_cast<int>(token_ids.size());
  size_scratch(n);
  for (std::size_t t = 0; t < traces.size(); ++t) {
    traces[t].position = pos0 + int(t);
    traces[t].token_id = token_ids[t];
    traces[t].layers.clear();
  }

  for (int t = 0; t < n; ++t)
    widen(w.embed, std::int64_t(token_ids[t]) * c.hidden_size, c.hidden_size,
          x_.data() + std::size_t(t) * c.hidden_size);
  if (!mla_) {  // every layer rotates by the same angles
    const std::size_t half = std::size_t(c.head_dim / 2);
    rope_cos_.resize(std::size_t(n) * half);
    rope_sin_.resize(std::size_t(n) * half);
    for (int t = 0; t < n; ++t)
      cpu::rope_angles(c.head_dim, float(pos0 + t) / c.rope_linear_factor, c.rope_theta,
                       rope_cos_.data() + t * half, rope_sin_.data() + t * half);
  }
  const auto norm_rows = [&](const std::vector<float>& weight) {
#pragma omp parallel for schedule(static) if (n > 1)
    for (int t = 0; t < n; ++t) {
      const std::size_t at = std::size_t(t) * c.hidden_size;
      cpu::rmsnorm(xn_.data() + at, x_.data() + at, weight.data(), c.hidden_size, c.rms_norm_eps);
    }
  };
  const std::size_t stream = std::size_t(n) * c.hidden_size;
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const LayerWeights& layer = w.layers[i];
    norm_rows(layer.attn_norm);
    attention_block(i, pos0, n);
    add_scaled(x_.data(), proj_.data(), 1.0f, int(stream));

    norm_rows(layer.ffn_norm);
    if (layer.is_moe)
      moe_ffn(i, n, interventions, traces);
    else
      mlp_rows(layer.dense, xn_.data(), n, ffn_out_.data());
    add_scaled(x_.data(), ffn_out_.data(), 1.0f, int(stream));
    if (keep_hidden_)
      std::copy_n(x_.data() + stream - c.hidden_size, c.hidden_size,
                  hidden_.data() + std::size_t(i) * c.hidden_size);
  }
  final_logits(n, wanted);
  return logits_;
}

void CpuBackend::final_logits(int n, LogitsWanted wanted) {
  const ModelConfig& c = config_;
  const ModelWeights& w = weights_.weights();
  const int first = wanted == LogitsWanted::all ? 0 : n - 1;
  const int rows = n - first;
  for (int t = first; t < n; ++t) {
    const std::size_t at = std::size_t(t) * c.hidden_size;
    cpu::rmsnorm(xn_.data() + at, x_.data() + at, w.final_norm.data(), c.hidden_size,
                 c.rms_norm_eps);
  }
  logits_.resize(std::size_t(rows) * c.vocab_size);
  cpu::matmul(w.lm_head, xn_.data() + std::size_t(first) * c.hidden_size, rows, logits_.data());
}

void CpuBackend::attention_block(int layer, int pos0, int n) {
  const ModelConfig& c = config_;
  const LayerWeights& l = weights_.weights().layers[layer];
  if (mla_) return mla_->run(l, k_cache_[layer], xn_.data(), pos0, n, proj_.data());
  const int q_dim = c.num_attention_heads * c.head_dim;
  const int kv_dim = c.num_key_value_heads * c.head_dim;
  auto& k_cache = k_cache_[layer];  // [pos0 + n, kv_dim]; a smaller pos0 rewinds
  auto& v_cache = v_cache_[layer];
  k_cache.resize(std::size_t(pos0 + n) * kv_dim);
  v_cache.resize(std::size_t(pos0 + n) * kv_dim);
  float* k = k_cache.data() + std::size_t(pos0) * kv_dim;  // [n, kv_dim]
  float* v = v_cache.data() + std::size_t(pos0) * kv_dim;

  // One region and one quantization of xn for the three projections.
  const cpu::Product qkv[] = {
      {&l.wq, xn_.data(), n, q_.data()}, {&l.wk, xn_.data(), n, k}, {&l.wv, xn_.data(), n, v}};
  cpu::matmul_all(qkv);
  const int half = c.head_dim / 2;
#pragma omp parallel for schedule(static) if (n > 1)
  for (int t = 0; t < n; ++t) {
    float* qt = q_.data() + std::size_t(t) * q_dim;
    float* kt = k + std::size_t(t) * kv_dim;
    shape_qkv(l, qt, kt, v + std::size_t(t) * kv_dim);
    const float* cos = rope_cos_.data() + std::size_t(t) * half;
    const float* sin = rope_sin_.data() + std::size_t(t) * half;
    cpu::rope_rotate(qt, c.num_attention_heads, c.head_dim, cos, sin);
    cpu::rope_rotate(kt, c.num_key_value_heads, c.head_dim, cos, sin);
  }

  cpu::causal_attention(att_.data(), q_.data(), n, pos0, k_cache.data(), v_cache.data(),
                        c.num_attention_heads, c.num_key_value_heads, c.head_dim);
  cpu::matmul(l.wo, att_.data(), n, proj_.data());
}

// Family steps between the q/k/v projections and RoPE, in HF's order: biases
// (Qwen2-MoE), RMSNorm over the whole q and k projections (OLMoE) or over each of
// their heads (Qwen3-MoE), clipping (OLMoE).
void CpuBackend::shape_qkv(const LayerWeights& l, float* q, float* k, float* v) {
  const ModelConfig& c = config_;
  const int q_dim = c.num_attention_heads * c.head_dim;
  const int kv_dim = c.num_key_value_heads * c.head_dim;
  if (c.qkv_bias) {
    add_bias(q, l.bq);
    add_bias(k, l.bk);
    add_bias(v, l.bv);
  }
  if (c.qk_norm) {
    cpu::rmsnorm(q, q, l.q_norm.data(), q_dim, c.rms_norm_eps);
    cpu::rmsnorm(k, k, l.k_norm.data(), kv_dim, c.rms_norm_eps);
  }
  if (c.qk_norm_per_head) {
    for (int h = 0; h < c.num_attention_heads; ++h)
      cpu::rmsnorm(q + h * c.head_dim, q + h * c.head_dim, l.q_norm.data(), c.head_dim,
                   c.rms_norm_eps);
    for (int h = 0; h < c.num_key_value_heads; ++h)
      cpu::rmsnorm(k + h * c.head_dim, k + h * c.head_dim, l.k_norm.data(), c.head_dim,
                   c.rms_norm_eps);
  }
  if (c.clip_qkv) {
    clamp(q, q_dim, *c.clip_qkv);
    clamp(k, kv_dim, *c.clip_qkv);
    clamp(v, kv_dim, *c.clip_qkv);
  }
}

void CpuBackend::mlp_rows(const MlpWeights& mlp, const float* x, int n, float* out) {
  const int width = static_cast<int>(mlp.gate.shape[0]);
  cpu::matmul(mlp.gate, x, n, hidden_a_.data());
  cpu::matmul(mlp.up, x, n, hidden_b_.data());
  cpu::silu_mul(hidden_a_.data(), hidden_b_.data(), n * width);
  cpu::matmul(mlp.down, hidden_a_.data(), n, out);
}

void CpuBackend::moe_ffn(int layer, int n, const Interventions& interventions,
                         std::span<TokenRouting> traces) {
  const ModelConfig& c = config_;
  const int hidden = c.hidden_size;
  const int experts = c.n_routed_experts;
  const LayerWeights& l = weights_.weights().layers[layer];
  cpu::matmul(l.router, xn_.data(), n, scores_.data());

  // Each token's choice; disabled experts keep their probability but cannot be selected.
  const int k = interventions.top_k.value_or(c.num_experts_per_tok);
  std::vector<cpu::ExpertChoice> choices(n);
  std::vector<char> mask_changed(n);  // not vector<bool>: threads write neighbouring tokens
#pragma omp parallel for schedule(static) if (n > 1)
  for (int t = 0; t < n; ++t) {
    const std::span<float> scores(scores_.data() + std::size_t(t) * experts, experts);
    if (c.scoring_func == "sigmoid")
      for (float& s : scores) s = sigmoid(s);
    else
      cpu::softmax(scores.data(), experts);
    choices[t] = cpu::choose_experts(c, layer, scores, l.score_bias, interventions, k);
    mask_changed[t] =
        !interventions.empty() &&
        !same_set(
            choices[t].ids,
            cpu::choose_experts(c, layer, scores, l.score_bias, {}, c.num_experts_per_tok).ids);
  }

  // Each chosen expert runs once over the tokens that chose it, all experts' products
  // in one parallel region per step; its output rows land in the (token, rank) slots so
  // every token sums them in rank order.
  fit(routed_out_, std::size_t(n) * k * hidden);
  std::vector<std::vector<std::pair<int, int>>> users(experts);  // (token, rank)
  for (int t = 0; t < n; ++t)
    for (std::size_t j = 0; j < choices[t].ids.size(); ++j)
      users[choices[t].ids[j]].emplace_back(t, int(j));
  const std::size_t width = std::size_t(c.moe_intermediate_size);
  const bool shared_active = l.shared && !interventions.shared_disabled(layer);
  const std::size_t shared_width = shared_active ? std::size_t(l.shared->gate.shape[0]) : 0;
  fit(gathered_in_, std::size_t(n) * k * hidden);
  fit(gathered_out_, std::size_t(n) * k * hidden);
  fit(hidden_a_, std::size_t(n) * (k * width + shared_width));
  fit(hidden_b_, std::size_t(n) * (k * width + shared_width));
  std::vector<cpu::Product> gate_up, down;
  std::size_t row = 0;  // of the gathered tokens, expert by expert
  for (int e = 0; e < experts; ++e) {
    const int m = int(users[e].size());
    if (m == 0) continue;
    for (int u = 0; u < m; ++u)
      std::copy_n(xn_.data() + std::size_t(users[e][u].first) * hidden, hidden,
                  gathered_in_.data() + (row + u) * hidden);
    const MlpWeights& expert = l.experts[e];
    const float* in = gathered_in_.data() + row * hidden;
    gate_up.push_back({&expert.gate, in, m, hidden_a_.data() + row * width});
    gate_up.push_back({&expert.up, in, m, hidden_b_.data() + row * width});
    down.push_back(
        {&expert.down, hidden_a_.data() + row * width, m, gathered_out_.data() + row * hidden});
    row += std::size_t(m);
  }
  // The shared expert (and Qwen2-MoE's gate for it) in the same two regions, its hidden
  // values after the routed ones'.
  const std::size_t routed_values = row * width;
  if (shared_active) {
    float* a = hidden_a_.data() + routed_values;
    float* b = hidden_b_.data() + routed_values;
    gate_up.push_back({&l.shared->gate, xn_.data(), n, a});
    gate_up.push_back({&l.shared->up, xn_.data(), n, b});
    down.push_back({&l.shared->down, a, n, shared_out_.data()});
  }
  // Qwen2-MoE: sigmoid(shared_expert_gate · x) weighs the shared expert's output.
  if (l.shared_gate) gate_up.push_back({&*l.shared_gate, xn_.data(), n, shared_logit_.data()});
  cpu::matmul_all(gate_up);
  cpu::silu_mul(hidden_a_.data(), hidden_b_.data(), int(routed_values + n * shared_width));
  cpu::matmul_all(down);
  row = 0;
  for (int e = 0; e < experts; ++e)
    for (const auto& [t, j] : users[e])
      std::copy_n(gathered_out_.data() + row++ * hidden, hidden,
                  routed_out_.data() + (std::size_t(t) * k + j) * hidden);

#pragma omp parallel for schedule(static) if (n > 1)
  for (int t = 0; t < n; ++t) {
    float* out = ffn_out_.data() + std::size_t(t) * hidden;
    std::fill(out, out + hidden, 0.0f);
    for (std::size_t j = 0; j < choices[t].ids.size(); ++j)
      add_scaled(out, routed_out_.data() + (std::size_t(t) * k + j) * hidden, choices[t].weights[j],
                 hidden);
    const float shared_weight = l.shared_gate ? sigmoid(shared_logit_[t]) : 1.0f;
    if (shared_active)
      add_scaled(out, shared_out_.data() + std::size_t(t) * hidden, shared_weight, hidden);

    if (traces.empty()) continue;
    LayerRouting& trace = traces[t].layers.emplace_back();
    trace.layer = layer;
    trace.scores.assign(scores_.data() + std::size_t(t) * experts,
                        scores_.data() + std::size_t(t + 1) * experts);
    trace.shared_active = shared_active;
    trace.shared_gate = shared_weight;
    trace.mask_changed = mask_changed[t];
    trace.selection_scores = std::move(choices[t].selection);
    trace.groups = std::move(choices[t].groups);
    trace.expert_ids = std::move(choices[t].ids);
    trace.gate_weights = std::move(choices[t].weights);
  }
}

}  // namespace moescope
