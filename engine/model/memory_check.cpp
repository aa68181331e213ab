#include "model/memory_check.h"

#include <unistd.h>

#include <cstdio>

#include "core/error.h"
#include "model/model_info.h"

namespace moescope {

namespace {

std::string gib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", bytes / double(1ull << 30));
  return text;
}

std::uint64_t kv_bytes(const ModelConfig& config) {
  return static_cast<std::uint64_t>(kv_cache_bytes_per_token(config)) *
         config.max_position_embeddings;
}

// What a backend holds for `config`: the weights as stored plus an f32 KV
// cache for the whole context.
std::uint64_t resident_bytes(const ModelConfig& config, std::uint64_t weight_bytes) {
  return weight_bytes + kv_bytes(config);
}

}  // namespace

std::uint64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? std::uint64_t(pages) * std::uint64_t(page) : 0;
}

void require_memory(const std::string& model, const std::string& backend, const ModelConfig& config,
                    std::uint64_t weight_bytes, std::uint64_t available,
                    const std::string& available_what) {
  const std::uint64_t needed = resident_bytes(config, weight_bytes);
  if (available == 0 || needed <= available) return;
  throw EngineError(model + ": the " + backend + " backend needs " + gib(needed) + " (" +
                    gib(weight_bytes) + " of weights + " + gib(kv_bytes(config)) +
                    " of KV cache for " + std::to_string(config.max_position_embeddings) +
                    " tokens) but " + available_what + " has " + gib(available));
}

}  // namespace moescope
