#pragma once
// The CPU backend's weights: the model's views, every Q8_0, Q4_0, Q4_K and Q6_K matrix of 8 rows
// or more with its rows also interleaved 8 at a time (cpu/interleaved_rows.h), which the
// products then read: decode meets 8 rows per byte dot product instead of one, and a
// batch interleaves nothing as it goes. Made once, in parallel, when the backend is, in
// memory asked for as 2 MiB pages; the products give the same bits with or without them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "model/model.h"

namespace moescope::cpu {

class InterleavedWeights {
 public:
  // No copies where they would take more than `budget_bytes` (the matrices then run from
  // their rows alone, as fast as before).
  InterleavedWeights(const ModelWeights& weights, std::uint64_t budget_bytes);

  const ModelWeights& weights() const { return weights_; }
  std::uint64_t bytes() const { return bytes_; }  // of the copies

 private:
  ModelWeights weights_;
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, Free> storage_;
  std::uint64_t bytes_ = 0;
};

}  // namespace moescope::cpu
