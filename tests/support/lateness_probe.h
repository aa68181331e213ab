#pragma once
// Measures how late a 5 ms GUI-thread timer fires: the longest stretch the
// event loop was blocked, in ms, while the probe runs.
#include <QElapsedTimer>
#include <QTimer>
#include <algorithm>

class LatenessProbe {
 public:
  static constexpr int intervalMs = 5;

  LatenessProbe() {
    timer_.setTimerType(Qt::PreciseTimer);
    timer_.setInterval(intervalMs);
    QObject::connect(&timer_, &QTimer::timeout, [this] {
      const qint64 now = clock_.elapsed();
      if (last_ >= 0) worst_ = std::max(worst_, now - last_ - intervalMs);
      last_ = now;
    });
  }
  void start() {
    worst_ = 0;
    last_ = -1;
    clock_.start();
    timer_.start();
  }
  void stop() { timer_.stop(); }
  qint64 worstMs() const { return worst_; }
  qint64 elapsedMs() const { return clock_.elapsed(); }

 private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 last_ = -1;
  qint64 worst_ = 0;
};
