// ThreadChoice against made-up timings: it keeps all threads while they are faster,
// moves to one thread when the machine makes one faster, and back when that passes.
#include <QTest>
#include <chrono>

#include "cpu/thread_choice.h"

using moescope::cpu::ThreadChoice;
using seconds = std::chrono::duration<double>;

namespace {

// Runs `calls` calls of one token each, timed by `cost(threads)`; returns how many of
// them ran with one thread.
template <typename Cost>
int run(ThreadChoice& choice, int calls, Cost cost) {
  int single = 0;
  for (int i = 0; i < calls; ++i) {
    const int threads = choice.next();
    single += threads == 1;
    choice.record(seconds(cost(threads)), 1);
  }
  return single;
}

}  // namespace

class TestThreadChoice : public QObject {
  Q_OBJECT

 private slots:
  // Probes of one thread lose, so they come ever more rarely: 64, 128, then 256 calls apart.
  void allThreadsWhileTheyAreFaster() {
    ThreadChoice choice(2);
    const int single = run(choice, 1000, [](int threads) { return threads == 1 ? 0.016 : 0.010; });
    QCOMPARE(single, 6);  // the probes at calls 2, 67, 196, 453, 710 and 967
    QCOMPARE(choice.next(), 2);
  }

  void oneThreadOnABusyMachineAndBackWhenItIsIdle() {
    ThreadChoice choice(2);
    const auto idle = [](int threads) { return threads == 1 ? 0.016 : 0.010; };
    run(choice, 100, idle);
    // Busy: two threads wait at every barrier (12 tokens/s against 50).
    const int busy =
        run(choice, 1000, [](int threads) { return threads == 1 ? 1.0 / 50 : 1.0 / 12; });
    QVERIFY2(busy >= 1000 - 10, qPrintable(QString::number(busy)));  // a few probes of two
    QCOMPARE(choice.next(), 1);
    // Idle again: back to all threads by the next probe at the latest.
    const int after = run(choice, 1000, idle);
    QVERIFY2(after <= ThreadChoice::longest_period + 2, qPrintable(QString::number(after)));
    QCOMPARE(choice.next(), 2);
  }

  // The first call pages the weights in (measured: 2.1 s where a token takes 20 ms); timed,
  // it made one thread look faster for the first probe period.
  void theFirstCallIsNotTimed() {
    ThreadChoice choice(2);
    int call = 0;
    const int single = run(choice, 100, [&call](int threads) {
      return call++ == 0 ? 2.0 : threads == 1 ? 0.016 : 0.010;
    });
    QCOMPARE(single, 2);  // the probes at calls 2 and 67
  }

  void aBatchIsTimedPerToken() {
    ThreadChoice choice(2);
    for (int i = 0; i < 200; ++i) {
      const int threads = choice.next();
      // 100 tokens: 0.5 s with two threads, 0.8 s with one.
      choice.record(seconds(threads == 1 ? 0.8 : 0.5), 100);
    }
    QCOMPARE(choice.next(), 2);
  }

  void oneAvailableThreadIsNeverProbed() {
    ThreadChoice choice(1);
    QCOMPARE(run(choice, 100, [](int) { return 0.01; }), 100);
  }
};

QTEST_GUILESS_MAIN(TestThreadChoice)
#include "test_thread_choice.moc"
