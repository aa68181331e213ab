#pragma once
// How many OpenMP threads the CPU backend runs a call with, chosen by measurement. A
// token is about 150 parallel regions, each ending at a barrier; when other processes
// keep the cores busy, every added thread makes each barrier wait for a core, and two
// threads have run 12 tokens/s where one ran 50. So the backend times its calls: now and
// then a call runs with the other choice (one thread, or all) as a probe, the running
// choice's seconds per token are smoothed, a probe's replace its choice's, and the
// faster one runs until the next probe. A probe that loses doubles the wait for the next
// one (a probe of all threads on a busy machine can stall for half a second); a switch
// resets it. On an idle machine all threads win every probe. Thread counts never change
// results: every parallel loop gives each output element to one thread.
#include <chrono>

namespace moescope::cpu {

// OpenMP's thread count for this process as it started (OMP_NUM_THREADS, else the cores).
int available_threads();

class ThreadChoice {
 public:
  static constexpr int first_period = 32, longest_period = 256;  // calls between probes

  explicit ThreadChoice(int max_threads = available_threads());

  // Threads for the next call; pass its time to record().
  int next() const;
  void record(std::chrono::duration<double> elapsed, int tokens);

 private:
  bool probing() const { return max_threads_ > 1 && until_probe_ == 0; }
  int choice() const;  // the faster by the estimates

  int max_threads_;
  int period_ = first_period;
  bool warm_ = false;    // the first call is not timed
  int until_probe_ = 1;  // the third call measures the other choice
  // Seconds per token with one thread and with max_threads_; 0: not measured.
  double one_ = 0.0, all_ = 0.0;
};

}  // namespace moescope::cpu
