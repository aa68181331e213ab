#include "cpu/thread_choice.h"

#include <omp.h>

#include <algorithm>

namespace moescope::cpu {
namespace {

// Weight of the newest call in the smoothed time: enough memory to ride out one slow
// token, short enough to follow a machine that became busy or idle.
constexpr double newest_weight = 0.25;

void smooth(double& average, double sample) {
  average = average == 0.0 ? sample : (1 - newest_weight) * average + newest_weight * sample;
}

}  // namespace

int available_threads() {
  // Read once, before any ThreadChoice has set a count on the calling thread.
  static const int threads = omp_get_max_threads();
  return threads;
}

ThreadChoice::ThreadChoice(int max_threads) : max_threads_(max_threads < 1 ? 1 : max_threads) {}

int ThreadChoice::choice() const {
  return one_ > 0.0 && all_ > 0.0 && one_ < all_ ? 1 : max_threads_;
}

int ThreadChoice::next() const {
  if (!probing()) return choice();
  return choice() == 1 ? max_threads_ : 1;
}

void ThreadChoice::record(std::chrono::duration<double> elapsed, int tokens) {
  if (max_threads_ == 1 || tokens <= 0) return;
  if (!warm_) {  // the first call pages the weights in: seconds that say nothing of threads
    warm_ = true;
    return;
  }
  const double sample = elapsed.count() / tokens;
  if (!probing()) {
    smooth(next() == 1 ? one_ : all_, sample);
    --until_probe_;
    return;
  }
  // A probe replaces its choice's estimate: probes are rare, and the estimate it
  // replaces may be many calls old (made before the machine became busy or idle).
  const int before = choice();
  (before == 1 ? all_ : one_) = sample;
  period_ = choice() != before ? first_period : std::min(2 * period_, longest_period);
  until_probe_ = period_;
}

}  // namespace moescope::cpu
