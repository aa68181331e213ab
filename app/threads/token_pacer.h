#pragma once
// How fast a run's tokens reach the screen, so a class can watch routing
// arrive: live (as the engine makes them), a few per second, or one per step
// (→). The engine never waits: the pacer holds what it made ahead. Prompt
// tokens are context, not the show: they pass at once.
#include <chrono>
#include <deque>
#include <vector>

#include "io/snapshot.h"

class TokenPacer {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Mode { live, perSecond, step };

  // A new mode applies from now on; going live lets everything held through.
  void setMode(Mode mode, double tokensPerSecond = 2.0);
  Mode mode() const { return mode_; }
  double tokensPerSecond() const { return rate_; }

  void push(std::vector<moescope::SnapshotToken> tokens);
  // What may be shown at `now`: every prompt token, and the generated tokens
  // the mode allows (perSecond: one per 1/rate s; step: one per grantStep()).
  std::vector<moescope::SnapshotToken> release(Clock::time_point now = Clock::now());
  void grantStep() { ++steps_; }
  std::vector<moescope::SnapshotToken> releaseAll();  // a cancelled run shows what it made
  bool holding() const { return !held_.empty(); }
  void clear();  // a new run

 private:
  Mode mode_ = Mode::live;
  double rate_ = 2.0;
  int steps_ = 0;
  Clock::time_point last_{};  // when perSecond last released a generated token
  std::deque<moescope::SnapshotToken> held_;
};
