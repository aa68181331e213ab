#pragma once
// The CUDA backend's device state and its forward pass over one chunk of
// tokens, enqueued on one stream. CudaBackend (cuda_backend.h) drives it:
// chunks, the decode graph, copies back to the host.
#include <cstdint>
#include <memory>
#include <vector>

#include "cuda_plan/routing_plan.h"
#include "cuda_plan/scratch_plan.h"
#include "kernels/cuda_device.h"
#include "kernels/device_buffer.h"
#include "kernels/device_weights.h"
#include "kernels/gemm.h"
#include "model/model.h"
#include "run/backend.h"

namespace moescope::cuda {

struct CudaEngine {
  // Checks the device and its free memory, then uploads; throws EngineError.
  CudaEngine(const Model& model, int device);

  template <class T = float>
  T* buffer(cuda_plan::Buffer b) const {
    return scratch.at<T>(plan.offset_of(b));
  }

  // The forward pass of n tokens whose first position and ids are in the step
  // buffer. The logits buffer receives the last row's logits ([vocab]) or every
  // row's. When the routed experts need per-expert GEMMs (prefill), it waits for
  // the gate's choice once per MoE layer; otherwise it only enqueues (graph-safe).
  void enqueue_forward(int n, LogitsWanted wanted);

  // What the interventions of the current call make of the gate.
  void set_routing(const Interventions& interventions, bool keep_hidden);

  const Model& model;
  const ModelConfig& config;
  DeviceInfo device;
  cuda_plan::ScratchPlan plan;
  Stream stream;
  DeviceWeights weights;
  int capacity;           // positions the cache holds
  DeviceBuffer kv_cache;  // per layer: K then V, each [capacity, kv_dim]
  DeviceBuffer scratch;
  DeviceBuffer gemm_workspace;
  DeviceBuffer expert_mask;  // u8 [layers, n_routed_experts]
  std::unique_ptr<Gemm> gemm;

  // Set by set_routing.
  cuda_plan::RouteParams route;
  std::vector<cuda_plan::LayerFacts> moe_layers;
  std::vector<std::uint8_t> mask_uploaded;
  bool keep_hidden = false;

 private:
  void attention(int layer, int n);
  void dense_mlp(const cuda_plan::MlpSlots& mlp, int n, float* out);
  void moe(int layer, int moe_index, int n);
  void routed_experts_gemv(const cuda_plan::ExpertSlots& experts, int n);
  void routed_experts_gemm(const cuda_plan::ExpertSlots& experts, int n);
  void final_logits(int n, LogitsWanted wanted);
  void linear(const cuda_plan::MatrixSlot& w, const float* x, int n, float* y);
  float* k_cache(int layer) const;
  float* v_cache(int layer) const;
};

}  // namespace moescope::cuda
