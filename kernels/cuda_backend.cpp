#include "kernels/cuda_backend.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "cuda_plan/routing_record.h"
#include "kernels/cuda_engine.h"
#include "kernels/cuda_error.h"
#include "kernels/decode_graph.h"
#include "run/batch_check.h"

namespace moescope {

namespace cuda {

// Pinned host memory for what crosses to and from the device every call.
struct HostStaging {
  explicit HostStaging(const CudaEngine& e)
      : step(std::size_t(1 + e.plan.tokens) * sizeof(int), "allocating pinned staging"),
        logits(std::size_t(e.config.vocab_size) * sizeof(float), "allocating pinned logits"),
        records(e.plan.size_of(cuda_plan::Buffer::records), "allocating pinned routing records"),
        hidden(e.plan.size_of(cuda_plan::Buffer::hidden_states),
               "allocating pinned hidden states") {}
  PinnedBuffer step;     // i32 [1 + tokens]: first position, token ids
  PinnedBuffer logits;   // [vocab]
  PinnedBuffer records;  // the chunk's routing records
  PinnedBuffer hidden;   // [layers, hidden]
};

}  // namespace cuda

using cuda::check_cuda;
using cuda_plan::Buffer;

CudaBackend::CudaBackend(const Model& model, int device)
    : engine_(std::make_unique<cuda::CudaEngine>(model, device)),
      host_(std::make_unique<cuda::HostStaging>(*engine_)),
      graph_(std::make_unique<cuda::DecodeGraph>()) {
  engine_->stream.synchronize("setting up the CUDA backend");
}

CudaBackend::~CudaBackend() = default;

std::string CudaBackend::name() const {
  return "CUDA: " + engine_->device.name;
}

void CudaBackend::reset() {
  cached_ = 0;
}

void CudaBackend::keep_hidden_states(bool on) {
  keep_hidden_ = on;
  const ModelConfig& c = engine_->config;
  hidden_.assign(on ? std::size_t(c.num_hidden_layers) * c.hidden_size : 0, 0.0f);
}

std::span<const float> CudaBackend::hidden_states() const {
  return hidden_;
}

std::span<const float> CudaBackend::forward_batch(std::span<const int> token_ids, int pos0,
                                                  const Interventions& interventions,
                                                  std::span<TokenRouting> traces,
                                                  LogitsWanted wanted) {
  check_batch(engine_->config, token_ids, pos0, std::size_t(cached_), traces);
  cuda::CudaEngine& e = *engine_;
  const int n = static_cast<int>(token_ids.size());
  const std::size_t vocab = e.config.vocab_size;
  cached_ = pos0;  // a failure below leaves only what is sure
  e.set_routing(interventions, keep_hidden_);
  const cuda_plan::RecordLayout record = e.route.record();
  const std::size_t record_words = e.moe_layers.size() * std::size_t(record.words());
  if (wanted == LogitsWanted::all) logits_all_.resize(std::size_t(n) * vocab);

  const int chunk = cuda_plan::tokens_per_chunk(e.plan, e.route.k);
  for (int first = 0; first < n; first += chunk) {
    const int m = std::min(chunk, n - first);
    const bool last_chunk = first + m == n;
    const cudaStream_t s = e.stream.get();
    run_chunk(token_ids.subspan(first, m), pos0 + first, interventions, wanted);
    if (wanted == LogitsWanted::all)
      check_cuda(
          cudaMemcpyAsync(logits_all_.data() + std::size_t(first) * vocab, e.buffer(Buffer::logits),
                          std::size_t(m) * vocab * sizeof(float), cudaMemcpyDeviceToHost, s),
          "copying the logits");
    else if (last_chunk)
      check_cuda(cudaMemcpyAsync(host_->logits.at(), e.buffer(Buffer::logits),
                                 vocab * sizeof(float), cudaMemcpyDeviceToHost, s),
                 "copying the logits");
    // The routing trace: one copy for the chunk, and none when nobody asked.
    if (!traces.empty() && record_words > 0)
      check_cuda(cudaMemcpyAsync(host_->records.at(), e.buffer(Buffer::records),
                                 std::size_t(m) * record_words * sizeof(std::uint32_t),
                                 cudaMemcpyDeviceToHost, s),
                 "copying the routing trace");
    if (keep_hidden_ && last_chunk)
      check_cuda(cudaMemcpyAsync(host_->hidden.at(), e.buffer(Buffer::hidden_states),
                                 hidden_.size() * sizeof(float), cudaMemcpyDeviceToHost, s),
                 "copying the hidden states");
    e.stream.synchronize("running the model");
    cached_ = pos0 + first + m;
    const std::span<const std::uint32_t> words(host_->records.at<const std::uint32_t>(),
                                               std::size_t(m) * record_words);
    for (int t = 0; t < m && !traces.empty(); ++t) {
      TokenRouting& trace = traces[first + t];
      trace.position = pos0 + first + t;
      trace.token_id = token_ids[first + t];
      cuda_plan::read_routing(words, record, e.moe_layers, t, trace);
    }
  }
  if (keep_hidden_) std::memcpy(hidden_.data(), host_->hidden.at(), hidden_.size() * sizeof(float));
  if (wanted == LogitsWanted::all) return logits_all_;
  return {host_->logits.at<const float>(), vocab};
}

void CudaBackend::run_chunk(std::span<const int> token_ids, int pos0,
                            const Interventions& interventions, LogitsWanted wanted) {
  cuda::CudaEngine& e = *engine_;
  const int m = static_cast<int>(token_ids.size());
  // The previous chunk's copy from this staging finished: every chunk ends synchronised.
  int* step = host_->step.at<int>();
  step[0] = pos0;
  std::copy(token_ids.begin(), token_ids.end(), step + 1);
  check_cuda(cudaMemcpyAsync(e.buffer<int>(Buffer::step), step, (1 + m) * sizeof(int),
                             cudaMemcpyHostToDevice, e.stream.get()),
             "uploading the token ids");
  if (m == 1)
    replay_decode(interventions);
  else
    e.enqueue_forward(m, wanted);
}

// One graph for every position; captured again only when what it bakes in changes.
void CudaBackend::replay_decode(const Interventions& interventions) {
  cuda::CudaEngine& e = *engine_;
  cuda_plan::DecodeGraphKey key =
      cuda_plan::decode_graph_key(e.config, interventions, keep_hidden_);
  if (graph_->empty() || !graph_key_ || !(*graph_key_ == key)) {
    graph_key_.reset();
    graph_->capture(e.stream.get(), [&] { e.enqueue_forward(1, LogitsWanted::last); });
    graph_key_ = std::make_unique<cuda_plan::DecodeGraphKey>(std::move(key));
  }
  graph_->replay(e.stream.get());
}

}  // namespace moescope
