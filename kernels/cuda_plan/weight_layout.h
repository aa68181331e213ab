#pragma once
// Where every weight of a model goes in the CUDA backend's one device
// allocation, planned on the host before anything is allocated. The device side
// turns an offset into a pointer (base + offset); a new storage format (a
// quantized block type) or host-resident experts change this plan, not the
// forward pass.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "model/dtype.h"
#include "model/model.h"

namespace moescope::cuda_plan {

// Arena offsets are aligned for 16-byte vector loads (and cuBLAS, which likes 256).
inline constexpr std::size_t arena_alignment = 256;

struct MatrixSlot {  // [rows, cols] row-major, stored dtype
  DType dtype = DType::f32;
  std::int64_t rows = 0, cols = 0;
  std::size_t offset = 0;  // bytes into the arena
  std::size_t bytes() const { return std::size_t(rows * cols) * dtype_size(dtype); }
};

struct VectorSlot {  // f32 [n]
  std::int64_t n = 0;
  std::size_t offset = 0;
};

struct MlpSlots {
  MatrixSlot gate;  // [width, hidden]
  MatrixSlot up;    // [width, hidden]
  MatrixSlot down;  // [hidden, width]
};

// The routed experts of one layer packed back to back per matrix kind: expert e's
// gate is `first.gate` moved by e * stride bytes (likewise up and down), so a kernel
// can pick an expert by an id it reads from device memory.
struct ExpertSlots {
  MlpSlots first;
  std::size_t gate_stride = 0, up_stride = 0, down_stride = 0;  // bytes
  int count = 0;
};

struct LayerSlots {
  VectorSlot attn_norm, ffn_norm;            // [hidden]
  MatrixSlot wq, wk, wv, wo;                 // as LayerWeights
  std::optional<VectorSlot> bq, bk, bv;      // qkv_bias
  std::optional<VectorSlot> q_norm, k_norm;  // qk_norm
  bool is_moe = false;
  MlpSlots dense;                         // dense layers
  MatrixSlot router;                      // MoE: [n_routed_experts, hidden]
  ExpertSlots experts;                    // MoE
  std::optional<MlpSlots> shared;         // MoE with shared experts
  std::optional<MatrixSlot> shared_gate;  // Qwen2-MoE: [1, hidden]
};

// One host-to-device copy of the upload.
struct UploadCopy {
  const void* host = nullptr;
  std::size_t bytes = 0;
  std::size_t offset = 0;
};

struct WeightLayout {
  MatrixSlot embed;  // [vocab, hidden]
  std::vector<LayerSlots> layers;
  VectorSlot final_norm;  // [hidden]
  MatrixSlot lm_head;     // [vocab, hidden]; the embedding's slot when tied
  std::vector<UploadCopy> copies;
  std::size_t bytes = 0;  // the arena
};

// Throws EngineError when a layer's experts differ in dtype or shape (they could
// not be packed) — the loader's shape checks make that a malformed checkpoint.
WeightLayout plan_weight_layout(const ModelWeights& weights);

// The most elements of any 16-bit matrix (0 when every weight is f32): it bounds
// the f32 copy a GEMM makes of its weight rows.
std::int64_t largest_16bit_matrix(const WeightLayout& layout);

}  // namespace moescope::cuda_plan
