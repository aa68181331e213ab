#include "kernels/cuda_engine.h"

#include <algorithm>

#include "core/error.h"
#include "cuda_plan/family_support.h"
#include "kernels/attention.h"
#include "kernels/cuda_error.h"
#include "model/model_info.h"

namespace moescope::cuda {
namespace {

// Refuses, before anything is allocated, what the kernels cannot run or the device cannot hold.
cuda_plan::WeightLayout checked_layout(const Model& model, const DeviceInfo& device) {
  const ModelConfig& c = model.config();
  cuda_plan::require_family(model.name(), c);
  if (c.head_dim > attention_max_head_dim)
    throw EngineError(model.name() + ": head_dim " + std::to_string(c.head_dim) +
                      " is beyond the CUDA attention kernel's " +
                      std::to_string(attention_max_head_dim));
  cuda_plan::WeightLayout layout = cuda_plan::plan_weight_layout(model.weights());
  const cuda_plan::ScratchPlan plan =
      cuda_plan::plan_scratch(c, cuda_plan::largest_16bit_matrix(layout));
  cuda_plan::require_device_memory(model.name(), c,
                                   cuda_plan::device_memory_need(c, layout.bytes, plan),
                                   device.free_bytes, device.name);
  return layout;
}

}  // namespace

CudaEngine::CudaEngine(const Model& m, int device_index)
    : model(m),
      config(m.config()),
      device(open_device(device_index)),
      stream(),
      weights(checked_layout(m, device)),
      capacity(m.config().max_position_embeddings) {
  plan = cuda_plan::plan_scratch(config, cuda_plan::largest_16bit_matrix(weights.layout()));
  kv_cache = DeviceBuffer(std::size_t(kv_cache_bytes_per_token(config)) * capacity,
                          "allocating the KV cache");
  scratch = DeviceBuffer(plan.bytes, "allocating the scratch buffers");
  gemm_workspace = DeviceBuffer(cuda_plan::gemm_workspace_bytes, "allocating cuBLAS's workspace");
  expert_mask = DeviceBuffer(
      std::max<std::size_t>(1, std::size_t(config.num_hidden_layers) * config.n_routed_experts),
      "allocating the expert mask");
  gemm = std::make_unique<Gemm>(stream.get(), buffer(cuda_plan::Buffer::widened), plan.widen_elems,
                                gemm_workspace.at(), gemm_workspace.bytes());
  check_cuda(cudaMemsetAsync(expert_mask.at(), 0, expert_mask.bytes(), stream.get()),
             "clearing the expert mask");
  set_routing(Interventions{}, false);
}

void CudaEngine::set_routing(const Interventions& interventions, bool keep) {
  route = cuda_plan::route_params(config, interventions);
  moe_layers = cuda_plan::moe_layer_facts(config, interventions);
  keep_hidden = keep;
  std::vector<std::uint8_t> mask = cuda_plan::expert_mask(config, interventions);
  if (mask.empty() || mask == mask_uploaded) return;
  mask_uploaded = std::move(mask);
  // From pageable memory: the call returns once the bytes are staged, and the copy is
  // ordered on the stream before every kernel that reads the mask.
  check_cuda(cudaMemcpyAsync(expert_mask.at(), mask_uploaded.data(), mask_uploaded.size(),
                             cudaMemcpyHostToDevice, stream.get()),
             "uploading the expert mask");
}

float* CudaEngine::k_cache(int layer) const {
  const std::size_t kv_dim = std::size_t(config.num_key_value_heads) * config.head_dim;
  return kv_cache.at<float>(std::size_t(layer) * 2 * capacity * kv_dim * sizeof(float));
}

float* CudaEngine::v_cache(int layer) const {
  const std::size_t kv_dim = std::size_t(config.num_key_value_heads) * config.head_dim;
  return k_cache(layer) + std::size_t(capacity) * kv_dim;
}

}  // namespace moescope::cuda
