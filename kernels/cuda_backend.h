#pragma once
// The GPU backend: the forward pass on one CUDA device, weights uploaded once
// in their stored dtype, f32 activations, the decode step replayed as one CUDA
// graph, prefill on cuBLAS. A plain C++ header: the backend factory includes it
// without the CUDA toolkit's headers.
#include <memory>
#include <vector>

#include "model/model.h"
#include "run/backend.h"

namespace moescope {

namespace cuda {
struct CudaEngine;
struct HostStaging;
class DecodeGraph;
}  // namespace cuda
namespace cuda_plan {
struct DecodeGraphKey;
}

class CudaBackend final : public Backend {
 public:
  // Throws EngineError (no usable device, too little free memory — with the
  // numbers —, a failed upload); nothing is left allocated then.
  explicit CudaBackend(const Model& model, int device = 0);
  ~CudaBackend() override;

  std::span<const float> forward_batch(std::span<const int> token_ids, int pos0,
                                       const Interventions& interventions,
                                       std::span<TokenRouting> traces,
                                       LogitsWanted wanted) override;
  void reset() override;
  std::string name() const override;  // "CUDA: NVIDIA H200"
  void keep_hidden_states(bool on) override;
  std::span<const float> hidden_states() const override;

 private:
  void run_chunk(std::span<const int> token_ids, int pos0, const Interventions& interventions,
                 LogitsWanted wanted);
  void replay_decode(const Interventions& interventions);

  std::unique_ptr<cuda::CudaEngine> engine_;
  std::unique_ptr<cuda::HostStaging> host_;
  std::unique_ptr<cuda::DecodeGraph> graph_;
  std::unique_ptr<cuda_plan::DecodeGraphKey> graph_key_;  // what graph_ was captured for
  int cached_ = 0;                                        // positions in the KV cache
  bool keep_hidden_ = false;
  std::vector<float> logits_all_;  // [n, vocab] for LogitsWanted::all
  std::vector<float> hidden_;      // [layers, hidden] when keep_hidden_
};

}  // namespace moescope
