#include "kernels/decode_graph.h"

#include "kernels/cuda_error.h"

namespace moescope::cuda {

DecodeGraph::~DecodeGraph() {
  clear();
}

void DecodeGraph::clear() {
  if (exec_) cudaGraphExecDestroy(exec_);
  exec_ = nullptr;
}

void DecodeGraph::capture(cudaStream_t stream, const std::function<void()>& enqueue) {
  clear();
  check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
             "starting the decode graph's capture");
  cudaGraph_t graph = nullptr;
  try {
    enqueue();
  } catch (...) {
    cudaStreamEndCapture(stream, &graph);  // leave the stream usable
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  check_cuda(cudaStreamEndCapture(stream, &graph), "capturing the decode graph");
  const cudaError_t status = cudaGraphInstantiate(&exec_, graph, 0);
  cudaGraphDestroy(graph);
  if (status != cudaSuccess) exec_ = nullptr;
  check_cuda(status, "instantiating the decode graph");
}

void DecodeGraph::replay(cudaStream_t stream) const {
  check_cuda(cudaGraphLaunch(exec_, stream), "replaying the decode graph");
}

}  // namespace moescope::cuda
