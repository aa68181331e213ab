#pragma once
// The decode step captured once as a CUDA graph and replayed for every token:
// its kernels read the position and the token id from device memory, so the
// same graph serves every position.
#include <cuda_runtime_api.h>

#include <functional>

namespace moescope::cuda {

class DecodeGraph {
 public:
  DecodeGraph() = default;
  ~DecodeGraph();
  DecodeGraph(const DecodeGraph&) = delete;
  DecodeGraph& operator=(const DecodeGraph&) = delete;

  // Records what `enqueue` puts on `stream` (nothing runs) and instantiates it,
  // replacing any earlier capture. Throws EngineError; the graph is then empty.
  void capture(cudaStream_t stream, const std::function<void()>& enqueue);
  void replay(cudaStream_t stream) const;  // throws EngineError
  bool empty() const { return exec_ == nullptr; }
  void clear();

 private:
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace moescope::cuda
