#include "model/random_model.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.h"
#include "model/memory_check.h"
#include "model/model_info.h"

namespace moescope {
namespace {

// splitmix64's output function: the i-th number of the stream that starts at `state`
// is mix(state + i), so any element can be drawn on its own, on any thread.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : text) h = (h ^ std::uint8_t(c)) * 0x100000001b3ull;
  return h;
}

// Four 16-bit uniforms summed: mean 0, variance 1 after scaling, within +-3.46.
float unit_normal_like(std::uint64_t bits) {
  const float sum = float(bits & 0xffff) + float((bits >> 16) & 0xffff) +
                    float((bits >> 32) & 0xffff) + float(bits >> 48);
  return (sum + 2.0f - 2.0f * 65536.0f) * (1.7320508f / 65536.0f);
}

// One tensor's random elements [begin, end), written in its dtype.
struct Fill {
  TensorView view;
  std::uint64_t stream;  // from the seed and the tensor's name
  float scale;
  float offset;  // norms: 1 + 0 * noise

  float value(std::int64_t i) const {
    return offset + scale * unit_normal_like(mix(stream + std::uint64_t(i)));
  }

  template <class Stored, class Convert>
  void write(std::int64_t begin, std::int64_t end, Convert convert) const {
    Stored* out = static_cast<Stored*>(const_cast<void*>(view.data));
    for (std::int64_t i = begin; i < end; ++i) out[i] = convert(value(i));
  }

  void run(std::int64_t begin, std::int64_t end) const {
    switch (view.dtype) {
      case DType::f32:
        return write<float>(begin, end, [](float v) { return v; });
      case DType::f16:
        return write<std::uint16_t>(begin, end, f32_to_f16);
      case DType::bf16:
        return write<std::uint16_t>(begin, end, f32_to_bf16);
      default:  // quantized: refused by make_random_model
        return;
    }
  }
};

// Owns the tensors the binder asks for. Vectors (norms, biases) are filled at once,
// since the binder widens them to f32 as it binds; matrices later, all at once, in
// parallel (fill_matrices).
class RandomTensors final : public TensorMaker {
 public:
  RandomTensors(DType dtype, std::uint64_t seed) : dtype_(dtype), seed_(seed) {}

  TensorView make(const std::string& name, const std::vector<std::int64_t>& shape) override {
    TensorView view{name, dtype_, shape, nullptr};
    const std::size_t size = std::size_t(view.numel()) * dtype_size(dtype_);
    buffers_.push_back(std::make_unique_for_overwrite<std::byte[]>(size));
    view.data = buffers_.back().get();
    bytes_ += size;
    const bool is_norm = name.ends_with("norm.weight");
    const Fill fill{view, mix(seed_ ^ fnv1a(name)),
                    is_norm             ? 0.0f
                    : shape.size() == 1 ? 0.02f
                                        : 1.0f / std::sqrt(float(shape.back())),
                    is_norm ? 1.0f : 0.0f};
    if (shape.size() == 1)
      fill.run(0, view.numel());
    else
      matrices_.push_back(fill);
    return view;
  }

  std::size_t bytes() const override { return bytes_; }

  void fill_matrices() {
    constexpr std::int64_t chunk = 1 << 20;  // elements per job
    std::vector<std::pair<const Fill*, std::int64_t>> jobs;
    for (const Fill& f : matrices_)
      for (std::int64_t begin = 0; begin < f.view.numel(); begin += chunk)
        jobs.push_back({&f, begin});
    std::atomic<std::size_t> next = 0;
    const auto work = [&] {
      for (std::size_t j; (j = next++) < jobs.size();) {
        const auto [fill, begin] = jobs[j];
        fill->run(begin, std::min(begin + chunk, fill->view.numel()));
      }
    };
    {
      std::vector<std::jthread> threads(std::max(1u, std::thread::hardware_concurrency()) - 1);
      for (auto& t : threads) t = std::jthread(work);
      work();
    }  // joined
    matrices_.clear();
  }

 private:
  DType dtype_;
  std::uint64_t seed_;
  std::vector<std::unique_ptr<std::byte[]>> buffers_;
  std::size_t bytes_ = 0;
  std::vector<Fill> matrices_;
};

}  // namespace

std::unique_ptr<Model> make_random_model(const std::string& name, const ModelConfig& config,
                                         const std::string& config_json,
                                         const RandomWeights& weights) {
  if (is_quantized(weights.dtype))
    throw EngineError(name + ": random weights are made in F32, F16 or BF16, not " +
                      std::string(dtype_name(weights.dtype)));
  const std::uint64_t bytes =
      std::uint64_t(count_parameters(config).total) * dtype_size(weights.dtype);
  const bool limited = weights.memory_limit != 0;
  require_memory(name, "CPU", config, bytes,
                 limited ? weights.memory_limit : physical_memory_bytes(),
                 limited ? "the memory limit" : "this machine's RAM");
  auto tensors = std::make_unique<RandomTensors>(weights.dtype, weights.seed);
  RandomTensors& made = *tensors;
  auto model = Model::build(name, config, config_json, std::move(tensors));
  made.fill_matrices();
  return model;
}

}  // namespace moescope
