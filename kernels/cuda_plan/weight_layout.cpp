#include "cuda_plan/weight_layout.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace moescope::cuda_plan {
namespace {

std::size_t aligned(std::size_t n) {
  return (n + arena_alignment - 1) / arena_alignment * arena_alignment;
}

// The kernels read float weights only; a quantized model runs on the CPU backend.
void refuse_quantized(const TensorView& t) {
  if (is_quantized(t.dtype))
    throw EngineError("the CUDA backend does not run " + std::string(dtype_name(t.dtype)) +
                      " weights (" + t.name + "); the CPU backend does");
}

class Planner {
 public:
  MatrixSlot matrix(const TensorView& t) {
    refuse_quantized(t);
    MatrixSlot slot{t.dtype, t.rows(), t.cols(), 0};
    // A tensor bound twice (tied embeddings) is uploaded once.
    if (const auto seen = placed_.find(t.data); seen != placed_.end()) {
      slot.offset = seen->second;
      return slot;
    }
    slot.offset = place(t.data, slot.bytes());
    placed_.emplace(t.data, slot.offset);
    return slot;
  }
  VectorSlot vector(const std::vector<float>& v) {
    return {std::int64_t(v.size()), place(v.data(), v.size() * sizeof(float))};
  }
  std::optional<VectorSlot> optional_vector(const std::vector<float>& v) {
    if (v.empty()) return std::nullopt;
    return vector(v);
  }
  MlpSlots mlp(const MlpWeights& m) { return {matrix(m.gate), matrix(m.up), matrix(m.down)}; }

  ExpertSlots experts(const std::vector<MlpWeights>& experts) {
    ExpertSlots slots;
    slots.count = int(experts.size());
    if (experts.empty()) return slots;
    const MlpWeights& e0 = experts.front();
    for (const MlpWeights& e : experts)
      if (!same_form(e.gate, e0.gate) || !same_form(e.up, e0.up) || !same_form(e.down, e0.down))
        throw EngineError("the CUDA backend packs a layer's experts together, but " + e.gate.name +
                          " differs in dtype or shape from " + e0.gate.name);
    // Each kind of matrix as one run: all gates, then all ups, then all downs.
    slots.first.gate = packed(experts, &MlpWeights::gate, slots.gate_stride);
    slots.first.up = packed(experts, &MlpWeights::up, slots.up_stride);
    slots.first.down = packed(experts, &MlpWeights::down, slots.down_stride);
    return slots;
  }

  WeightLayout finish(WeightLayout layout) {
    layout.copies = std::move(copies_);
    layout.bytes = end_;
    return layout;
  }

 private:
  static bool same_form(const TensorView& a, const TensorView& b) {
    return a.dtype == b.dtype && a.shape == b.shape;
  }
  MatrixSlot packed(const std::vector<MlpWeights>& experts, TensorView MlpWeights::*kind,
                    std::size_t& stride) {
    const TensorView& t0 = experts.front().*kind;
    refuse_quantized(t0);  // the experts share t0's dtype (checked by experts())
    MatrixSlot slot{t0.dtype, t0.rows(), t0.cols(), 0};
    stride = aligned(slot.bytes());
    slot.offset = end_;
    for (const MlpWeights& e : experts) place((e.*kind).data, slot.bytes());
    return slot;
  }
  std::size_t place(const void* host, std::size_t bytes) {
    const std::size_t offset = end_;
    copies_.push_back({host, bytes, offset});
    end_ = aligned(end_ + bytes);
    return offset;
  }

  std::map<const void*, std::size_t> placed_;
  std::vector<UploadCopy> copies_;
  std::size_t end_ = 0;
};

}  // namespace

WeightLayout plan_weight_layout(const ModelWeights& w) {
  Planner p;
  WeightLayout layout;
  layout.embed = p.matrix(w.embed);
  for (const LayerWeights& l : w.layers) {
    LayerSlots& s = layout.layers.emplace_back();
    s.attn_norm = p.vector(l.attn_norm);
    s.ffn_norm = p.vector(l.ffn_norm);
    s.wq = p.matrix(l.wq);
    s.wk = p.matrix(l.wk);
    s.wv = p.matrix(l.wv);
    s.wo = p.matrix(l.wo);
    s.bq = p.optional_vector(l.bq);
    s.bk = p.optional_vector(l.bk);
    s.bv = p.optional_vector(l.bv);
    s.q_norm = p.optional_vector(l.q_norm);
    s.k_norm = p.optional_vector(l.k_norm);
    s.is_moe = l.is_moe;
    if (!l.is_moe) {
      s.dense = p.mlp(l.dense);
      continue;
    }
    s.router = p.matrix(l.router);
    s.experts = p.experts(l.experts);
    if (l.shared) s.shared = p.mlp(*l.shared);
    if (l.shared_gate) s.shared_gate = p.matrix(*l.shared_gate);
  }
  layout.final_norm = p.vector(w.final_norm);
  layout.lm_head = p.matrix(w.lm_head);
  return p.finish(std::move(layout));
}

std::int64_t largest_16bit_matrix(const WeightLayout& layout) {
  std::int64_t largest = 0;
  auto see = [&](const MatrixSlot& m) {
    if (m.dtype != DType::f32) largest = std::max(largest, m.rows * m.cols);
  };
  auto see_mlp = [&](const MlpSlots& m) {
    see(m.gate);
    see(m.up);
    see(m.down);
  };
  see(layout.embed);
  see(layout.lm_head);
  for (const LayerSlots& l : layout.layers) {
    for (const MatrixSlot* m : {&l.wq, &l.wk, &l.wv, &l.wo}) see(*m);
    if (!l.is_moe) {
      see_mlp(l.dense);
      continue;
    }
    see(l.router);
    see_mlp(l.experts.first);
    if (l.shared) see_mlp(*l.shared);
    if (l.shared_gate) see(*l.shared_gate);
  }
  return largest;
}

}  // namespace moescope::cuda_plan
