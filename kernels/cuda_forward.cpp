// The forward pass of one chunk on the device, in the CPU backend's order:
// embedding; per layer RMSNorm -> attention -> residual -> RMSNorm -> dense MLP
// or MoE (gate, routed experts, shared expert) -> residual; final norm; LM head.
#include "cuda_plan/expert_groups.h"
#include "kernels/add_bias.h"
#include "kernels/attention.h"
#include "kernels/clamp.h"
#include "kernels/cuda_engine.h"
#include "kernels/cuda_error.h"
#include "kernels/embedding.h"
#include "kernels/expert_grouping.h"
#include "kernels/gemv.h"
#include "kernels/grouped_gemm.h"
#include "kernels/kv_append.h"
#include "kernels/residual_add.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/router.h"
#include "kernels/shared_gate.h"
#include "kernels/silu_mul.h"

namespace moescope::cuda {

using cuda_plan::Buffer;

void CudaEngine::enqueue_forward(int n, LogitsWanted wanted) {
  const cudaStream_t s = stream.get();
  const int hidden = config.hidden_size;
  float* x = buffer(Buffer::x);  // [n, hidden]
  launch_embedding(weights.matrix(weights.layout().embed), buffer<int>(Buffer::step) + 1, n, x, s);
  int moe_index = 0;
  for (int i = 0; i < config.num_hidden_layers; ++i) {
    const cuda_plan::LayerSlots& l = weights.layout().layers[i];
    launch_rmsnorm(buffer(Buffer::xn), x, weights.vector(l.attn_norm), n, hidden,
                   config.rms_norm_eps, s);
    attention(i, n);
    launch_residual_add(x, nullptr, nullptr, 0, buffer(Buffer::proj), nullptr, n, hidden, s);

    launch_rmsnorm(buffer(Buffer::xn), x, weights.vector(l.ffn_norm), n, hidden,
                   config.rms_norm_eps, s);
    if (l.is_moe) {
      moe(i, moe_index++, n);
    } else {
      dense_mlp(l.dense, n, buffer(Buffer::proj));
      launch_residual_add(x, nullptr, nullptr, 0, buffer(Buffer::proj), nullptr, n, hidden, s);
    }
    if (keep_hidden)  // the last position's residual stream after this layer
      check_cuda(cudaMemcpyAsync(buffer(Buffer::hidden_states) + std::size_t(i) * hidden,
                                 x + std::size_t(n - 1) * hidden, hidden * sizeof(float),
                                 cudaMemcpyDeviceToDevice, s),
                 "keeping the hidden states");
  }
  final_logits(n, wanted);
}

void CudaEngine::linear(const cuda_plan::MatrixSlot& w, const float* x, int n, float* y) {
  const DeviceMatrix m = weights.matrix(w);
  if (n <= cuda_plan::gemv_max_rows)
    launch_gemv(m, {}, x, m.cols, 1, n, y, m.rows, stream.get());
  else
    gemm->run(m, x, n, y);
}

void CudaEngine::attention(int layer, int n) {
  const ModelConfig& c = config;
  const cuda_plan::LayerSlots& l = weights.layout().layers[layer];
  const cudaStream_t s = stream.get();
  const int q_dim = c.num_attention_heads * c.head_dim;
  const int kv_dim = c.num_key_value_heads * c.head_dim;
  float* xn = buffer(Buffer::xn);
  float *q = buffer(Buffer::q), *k = buffer(Buffer::k), *v = buffer(Buffer::v);
  linear(l.wq, xn, n, q);  // [n, q_dim]
  linear(l.wk, xn, n, k);  // [n, kv_dim]
  linear(l.wv, xn, n, v);  // [n, kv_dim]
  // Family steps in HF's order: biases (Qwen2-MoE), norms over the whole q and k
  // projections (OLMoE), clipping (OLMoE).
  if (l.bq) {
    launch_add_bias(q, weights.vector(*l.bq), n, q_dim, s);
    launch_add_bias(k, weights.vector(*l.bk), n, kv_dim, s);
    launch_add_bias(v, weights.vector(*l.bv), n, kv_dim, s);
  }
  if (l.q_norm) {
    launch_rmsnorm(q, q, weights.vector(*l.q_norm), n, q_dim, c.rms_norm_eps, s);
    launch_rmsnorm(k, k, weights.vector(*l.k_norm), n, kv_dim, c.rms_norm_eps, s);
  }
  if (c.clip_qkv) {
    launch_clamp(q, std::int64_t(n) * q_dim, *c.clip_qkv, s);
    launch_clamp(k, std::int64_t(n) * kv_dim, *c.clip_qkv, s);
    launch_clamp(v, std::int64_t(n) * kv_dim, *c.clip_qkv, s);
  }
  const int* pos0 = buffer<int>(Buffer::step);
  launch_rope(q, n, c.num_attention_heads, c.head_dim, pos0, c.rope_linear_factor, c.rope_theta, s);
  launch_rope(k, n, c.num_key_value_heads, c.head_dim, pos0, c.rope_linear_factor, c.rope_theta, s);
  launch_kv_append(k_cache(layer), v_cache(layer), k, v, n, kv_dim, pos0, capacity, s);
  launch_attention(buffer(Buffer::att), q, k_cache(layer), v_cache(layer), n, pos0, capacity,
                   c.num_attention_heads, c.num_key_value_heads, c.head_dim, s);
  linear(l.wo, buffer(Buffer::att), n, buffer(Buffer::proj));
}

// out[n, hidden] = down(silu(gate xn) * up xn)
void CudaEngine::dense_mlp(const cuda_plan::MlpSlots& mlp, int n, float* out) {
  const int width = int(mlp.gate.rows);
  float *a = buffer(Buffer::mlp_a), *b = buffer(Buffer::mlp_b);
  linear(mlp.gate, buffer(Buffer::xn), n, a);
  linear(mlp.up, buffer(Buffer::xn), n, b);
  launch_silu_mul(a, b, std::int64_t(n) * width, stream.get());
  linear(mlp.down, a, n, out);
}

void CudaEngine::moe(int layer, int moe_index, int n) {
  const cuda_plan::LayerSlots& l = weights.layout().layers[layer];
  const cudaStream_t s = stream.get();
  const cuda_plan::RecordLayout record = route.record();
  // Token t's record of this layer: records + (t * MoE layers + moe_index) * words.
  const std::size_t record_stride = moe_layers.size() * std::size_t(record.words());
  std::uint32_t* records =
      buffer<std::uint32_t>(Buffer::records) + std::size_t(moe_index) * record.words();

  linear(l.router, buffer(Buffer::xn), n, buffer(Buffer::router_logits));  // [n, experts]
  launch_route(buffer(Buffer::router_logits), n,
               expert_mask.at<std::uint8_t>(std::size_t(layer) * config.n_routed_experts), route,
               records, record_stride, buffer<int>(Buffer::slot_ids), buffer(Buffer::slot_weights),
               s);
  if (cuda_plan::use_grouped_gemv(n * route.k, config.n_routed_experts))
    routed_experts_gemv(l.experts, n);
  else
    routed_experts_gemm(l.experts, n);

  // The shared gate is computed even with the shared expert off: the trace shows it.
  float* scale = nullptr;
  if (l.shared_gate) {
    scale = buffer(Buffer::shared_scale);
    linear(*l.shared_gate, buffer(Buffer::xn), n, scale);  // [n, 1] logits
    launch_shared_gate(scale, n, records, record_stride, record.shared_gate(), s);
  }
  const float* shared = nullptr;
  if (moe_layers[moe_index].shared_active) {
    dense_mlp(*l.shared, n, buffer(Buffer::shared_out));
    shared = buffer(Buffer::shared_out);
  }
  launch_residual_add(buffer(Buffer::x), buffer(Buffer::routed), buffer(Buffer::slot_weights),
                      route.k, shared, scale, n, config.hidden_size, s);
}

// Decode and short batches: every (token, rank) slot multiplies by its expert,
// picked from the ids on the device.
void CudaEngine::routed_experts_gemv(const cuda_plan::ExpertSlots& experts, int n) {
  const cudaStream_t s = stream.get();
  const int slots = n * route.k, hidden = config.hidden_size;
  const int width = int(experts.first.gate.rows);
  const int* ids = buffer<int>(Buffer::slot_ids);
  float *a = buffer(Buffer::slot_a), *b = buffer(Buffer::slot_b);
  launch_gemv(weights.matrix(experts.first.gate), {ids, experts.gate_stride}, buffer(Buffer::xn),
              hidden, route.k, slots, a, width, s);
  launch_gemv(weights.matrix(experts.first.up), {ids, experts.up_stride}, buffer(Buffer::xn),
              hidden, route.k, slots, b, width, s);
  launch_silu_mul(a, b, std::int64_t(slots) * width, s);
  launch_gemv(weights.matrix(experts.first.down), {ids, experts.down_stride}, a, width, 1, slots,
              buffer(Buffer::routed), hidden, s);
}

// Prefill: the slots are grouped by expert on the device, and each of gate, up and
// down runs every chosen expert over its tokens in one grouped product. Nothing
// waits for the host, so a prompt's layers queue up behind each other.
void CudaEngine::routed_experts_gemm(const cuda_plan::ExpertSlots& experts, int n) {
  const cudaStream_t s = stream.get();
  const int slots = n * route.k, hidden = config.hidden_size, n_experts = config.n_routed_experts;
  const int width = int(experts.first.gate.rows);
  int* index = buffer<int>(Buffer::group_index);
  int* offsets = buffer<int>(Buffer::expert_tiles);
  const DeviceExpertGroups groups{offsets, offsets + n_experts + 1, index, index + slots};
  launch_group_by_expert(buffer<int>(Buffer::slot_ids), slots, route.k, n_experts, groups, s);
  const auto product = [&](const cuda_plan::MatrixSlot& m, std::size_t stride,
                           const GroupedRows& rows) {
    launch_grouped_gemm(weights.matrix(m), stride, groups, slots, n_experts, rows, s);
  };
  const float* xn = buffer(Buffer::xn);
  float *a = buffer(Buffer::slot_a), *b = buffer(Buffer::slot_b), *routed = buffer(Buffer::routed);
  product(experts.first.gate, experts.gate_stride,
          {xn, hidden, groups.source_tokens, a, width, nullptr});
  product(experts.first.up, experts.up_stride,
          {xn, hidden, groups.source_tokens, b, width, nullptr});
  // Over every slot's row: those past the placed positions are never read.
  launch_silu_mul(a, b, std::int64_t(slots) * width, s);
  // A slot the gate left empty (fewer than k experts) keeps a zero row.
  check_cuda(cudaMemsetAsync(routed, 0, std::size_t(slots) * hidden * sizeof(float), s),
             "clearing the expert outputs");
  product(experts.first.down, experts.down_stride,
          {a, width, nullptr, routed, hidden, groups.sorted_slots});
}

void CudaEngine::final_logits(int n, LogitsWanted wanted) {
  const cuda_plan::WeightLayout& w = weights.layout();
  const int hidden = config.hidden_size;
  const int rows = wanted == LogitsWanted::all ? n : 1;
  const float* from = buffer(Buffer::x) + std::size_t(n - rows) * hidden;
  launch_rmsnorm(buffer(Buffer::xn), from, weights.vector(w.final_norm), rows, hidden,
                 config.rms_norm_eps, stream.get());
  linear(w.lm_head, buffer(Buffer::xn), rows, buffer(Buffer::logits));
}

}  // namespace moescope::cuda
