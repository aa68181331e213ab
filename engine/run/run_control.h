#pragma once
// Progress and cancellation for long engine work (evaluations, experiments):
// a front end passes a flag it may set from any thread and a progress callback.
#include <atomic>
#include <functional>

#include "core/error.h"

namespace moescope {

class Cancelled : public EngineError {
 public:
  Cancelled() : EngineError("cancelled") {}
};

// Counts units of work (tokens through a model) against a known total.
class WorkMeter {
 public:
  using Callback = std::function<void(long done, long total)>;
  WorkMeter(long total, Callback progress = {}, const std::atomic<bool>* cancel = nullptr)
      : total_(total), progress_(std::move(progress)), cancel_(cancel) {}

  // Throws Cancelled once the flag is set; checked between units.
  void advance(long units = 1) {
    if (cancel_ && cancel_->load(std::memory_order_relaxed)) throw Cancelled();
    done_ += units;
    if (progress_) progress_(done_, total_);
  }
  long done() const { return done_; }
  long total() const { return total_; }

 private:
  long total_ = 0;
  long done_ = 0;
  Callback progress_;
  const std::atomic<bool>* cancel_ = nullptr;
};

}  // namespace moescope
