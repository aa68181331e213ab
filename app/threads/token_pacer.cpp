#include "threads/token_pacer.h"

#include <algorithm>

void TokenPacer::setMode(Mode mode, double tokensPerSecond) {
  mode_ = mode;
  rate_ = std::max(0.1, tokensPerSecond);
  steps_ = 0;
  last_ = {};
}

void TokenPacer::push(std::vector<moescope::SnapshotToken> tokens) {
  for (auto& token : tokens) held_.push_back(std::move(token));
}

std::vector<moescope::SnapshotToken> TokenPacer::release(Clock::time_point now) {
  if (mode_ == Mode::live) return releaseAll();
  std::vector<moescope::SnapshotToken> out;
  const auto interval = std::chrono::duration<double>(1.0 / rate_);
  while (!held_.empty()) {
    if (!held_.front().routing.is_prompt) {
      if (mode_ == Mode::step) {
        if (steps_ == 0) break;
        --steps_;
      } else {
        if (last_ != Clock::time_point{} && now - last_ < interval) break;
        last_ = now;
      }
    }
    out.push_back(std::move(held_.front()));
    held_.pop_front();
  }
  return out;
}

std::vector<moescope::SnapshotToken> TokenPacer::releaseAll() {
  std::vector<moescope::SnapshotToken> out(std::make_move_iterator(held_.begin()),
                                           std::make_move_iterator(held_.end()));
  held_.clear();
  return out;
}

void TokenPacer::clear() {
  held_.clear();
  steps_ = 0;
  last_ = {};
}
