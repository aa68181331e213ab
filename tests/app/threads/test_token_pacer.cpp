// The pacer lets prompt tokens through at once and generated tokens at the
// pace asked for: live, one per interval, or one per step.
#include <QTest>

#include "threads/token_pacer.h"

namespace {

std::vector<moescope::SnapshotToken> run(int prompt, int generated) {
  std::vector<moescope::SnapshotToken> tokens(prompt + generated);
  for (int i = 0; i < prompt + generated; ++i) {
    tokens[i].routing.position = i;
    tokens[i].routing.is_prompt = i < prompt;
  }
  return tokens;
}

}  // namespace

class TestTokenPacer : public QObject {
  Q_OBJECT

 private slots:
  void liveLetsEverythingThrough() {
    TokenPacer pacer;
    pacer.push(run(128, 5));  // a prefill chunk of 128 and five decoded tokens
    QCOMPARE(pacer.release().size(), std::size_t(133));
    QVERIFY(!pacer.holding());
  }

  void stepShowsOneGeneratedTokenPerStep() {
    TokenPacer pacer;
    pacer.setMode(TokenPacer::Mode::step);
    pacer.push(run(3, 4));
    QCOMPARE(pacer.release().size(), std::size_t(3));  // the prompt, at once
    QCOMPARE(pacer.release().size(), std::size_t(0));
    pacer.grantStep();
    const auto one = pacer.release();
    QCOMPARE(one.size(), std::size_t(1));
    QCOMPARE(one.front().routing.position, 3);
    pacer.grantStep();
    pacer.grantStep();
    QCOMPARE(pacer.release().size(), std::size_t(2));
    QCOMPARE(pacer.releaseAll().size(), std::size_t(1));  // Esc: the rest at once
  }

  void stepGrantedBeforeTheTokenArrives() {
    TokenPacer pacer;
    pacer.setMode(TokenPacer::Mode::step);
    pacer.grantStep();  // pressed while the engine was still on it
    pacer.push(run(0, 2));
    QCOMPARE(pacer.release().size(), std::size_t(1));
  }

  void perSecondSpacesGeneratedTokens() {
    TokenPacer pacer;
    pacer.setMode(TokenPacer::Mode::perSecond, 2.0);
    pacer.push(run(2, 3));
    const auto t0 = TokenPacer::Clock::now();
    QCOMPARE(pacer.release(t0).size(), std::size_t(3));  // the prompt and the first
    QCOMPARE(pacer.release(t0 + std::chrono::milliseconds(200)).size(), std::size_t(0));
    QCOMPARE(pacer.release(t0 + std::chrono::milliseconds(510)).size(), std::size_t(1));
    QCOMPARE(pacer.release(t0 + std::chrono::milliseconds(1020)).size(), std::size_t(1));
    QVERIFY(!pacer.holding());
  }

  void goingLiveReleasesWhatIsHeld() {
    TokenPacer pacer;
    pacer.setMode(TokenPacer::Mode::step);
    pacer.push(run(1, 6));
    pacer.release();
    pacer.setMode(TokenPacer::Mode::live);
    QCOMPARE(pacer.release().size(), std::size_t(6));
  }
};

QTEST_GUILESS_MAIN(TestTokenPacer)
#include "test_token_pacer.moc"
