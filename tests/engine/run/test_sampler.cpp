// The sampler: greedy is argmax, seeded sampling is reproducible, nucleus
// truncation keeps the right tokens, and draw frequencies follow softmax(logits / T).
#include <QList>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "run/sampler.h"

using namespace moescope;

namespace {

std::vector<int> draws(const SamplingSettings& settings, const std::vector<float>& logits, int n) {
  Sampler sampler(settings);
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(sampler.sample(logits));
  return out;
}

SamplingSettings settings(float temperature, float top_p, std::uint64_t seed) {
  SamplingSettings s;
  s.temperature = temperature;
  s.top_p = top_p;
  s.seed = seed;
  return s;
}

// softmax(logits / T) in double.
std::vector<double> probabilities(const std::vector<float>& logits, double temperature) {
  const double max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p;
  double sum = 0.0;
  for (float l : logits) sum += p.emplace_back(std::exp((l - max) / temperature));
  for (double& x : p) x /= sum;
  return p;
}

// Eight logits close enough together that every token is drawn often.
const std::vector<float> flat = {0.1f, 0.3f, -0.2f, 0.0f, 0.25f, -0.1f, 0.2f, 0.05f};

}  // namespace

class TestSampler : public QObject {
  Q_OBJECT

 private slots:
  void greedy_is_argmax_data() {
    QTest::addColumn<QList<float>>("logits");
    QTest::addColumn<int>("expected");
    QTest::newRow("middle") << QList<float>{0.1f, 2.5f, -1.0f, 2.4f} << 1;
    QTest::newRow("last") << QList<float>{-3, -2, -1, 0} << 3;
    QTest::newRow("first") << QList<float>{9, -2, 8.99f, 0} << 0;
    QTest::newRow("all negative") << QList<float>{-7, -0.5f, -3} << 1;
    QTest::newRow("tie goes to the lower id") << QList<float>{1, 4, 0, 4} << 1;
  }
  void greedy_is_argmax() {
    QFETCH(QList<float>, logits);
    QFETCH(int, expected);
    const std::vector<float> l(logits.begin(), logits.end());
    // temperature 0 is greedy whatever the seed and top_p
    for (std::uint64_t seed : {0u, 1u, 12345u})
      for (float top_p : {1.0f, 0.5f})
        for (int id : draws(settings(0.0f, top_p, seed), l, 5)) QCOMPARE(id, expected);
  }

  void same_seed_same_sequence_data() {
    QTest::addColumn<float>("temperature");
    QTest::addColumn<float>("top_p");
    QTest::newRow("T 0.8") << 0.8f << 1.0f;
    QTest::newRow("T 1.0, top_p 0.9") << 1.0f << 0.9f;
    QTest::newRow("T 2.0") << 2.0f << 1.0f;
  }
  void same_seed_same_sequence() {
    QFETCH(float, temperature);
    QFETCH(float, top_p);
    const auto a = draws(settings(temperature, top_p, 7), flat, 200);
    const auto b = draws(settings(temperature, top_p, 7), flat, 200);
    const auto c = draws(settings(temperature, top_p, 8), flat, 200);
    QCOMPARE(a, b);
    QVERIFY(a != c);
    // Not stuck on one token.
    QVERIFY(std::count(a.begin(), a.end(), a.front()) < 100);
  }

  void tiny_top_p_is_argmax_data() {
    QTest::addColumn<float>("temperature");
    QTest::newRow("T 1") << 1.0f;
    QTest::newRow("T 5") << 5.0f;
  }
  void tiny_top_p_is_argmax() {
    QFETCH(float, temperature);
    for (std::uint64_t seed = 0; seed < 10; ++seed)
      for (int id : draws(settings(temperature, 1e-6f, seed), flat, 50)) QCOMPARE(id, 1);
  }

  // Probabilities 0.5, 0.3, 0.15, 0.05 at T 1: the nucleus of mass 0.75 is the
  // two best tokens, drawn as 0.5 : 0.3 renormalised.
  // Settings that mean nothing are refused before anything is drawn (NaN slips through
  // every "< 0" check, and an empty nucleus has nothing to draw from).
  void meaningless_settings_refused_data() {
    QTest::addColumn<float>("temperature");
    QTest::addColumn<float>("top_p");
    QTest::addColumn<QString>("message");
    QTest::newRow("temperature nan") << NAN << 1.0f << "temperature nan is not a finite number";
    QTest::newRow("temperature inf") << INFINITY << 1.0f << "temperature inf is not";
    QTest::newRow("temperature negative") << -0.5f << 1.0f << "temperature -0.5 is not";
    QTest::newRow("top-p zero") << 1.0f << 0.0f << "top-p 0 is not in (0, 1]";
    QTest::newRow("top-p nan") << 1.0f << NAN << "top-p nan is not in (0, 1]";
    QTest::newRow("top-p above one") << 1.0f << 1.5f << "top-p 1.5 is not in (0, 1]";
  }
  void meaningless_settings_refused() {
    QFETCH(float, temperature);
    QFETCH(float, top_p);
    QFETCH(QString, message);
    try {
      Sampler sampler(settings(temperature, top_p, 1));
      QFAIL("accepted");
    } catch (const EngineError& e) {
      QVERIFY2(QString(e.what()).contains(message), e.what());
    }
  }

  void nucleus_keeps_smallest_set_reaching_top_p() {
    const std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.05f),
                                       std::log(0.3f)};
    const int n = 20000;
    std::vector<int> counts(4, 0);
    for (int id : draws(settings(1.0f, 0.75f, 3), logits, n)) ++counts[id];
    QCOMPARE(counts[0], 0);
    QCOMPARE(counts[2], 0);
    QVERIFY2(std::abs(counts[1] / double(n) - 0.625) < 0.015,
             qPrintable(QString::number(counts[1])));
    QVERIFY2(std::abs(counts[3] / double(n) - 0.375) < 0.015,
             qPrintable(QString::number(counts[3])));
  }

  // 20000 draws: the standard error of a frequency is at most 0.0035, so 0.015
  // is over four of them, while a temperature off by 0.1 moves some probability
  // by more than that.
  void frequencies_follow_softmax_data() {
    QTest::addColumn<float>("temperature");
    QTest::addColumn<quint64>("seed");
    QTest::newRow("T 1") << 1.0f << quint64(1);
    QTest::newRow("T 0.7") << 0.7f << quint64(2);
    QTest::newRow("T 1.5") << 1.5f << quint64(3);
  }
  void frequencies_follow_softmax() {
    QFETCH(float, temperature);
    QFETCH(quint64, seed);
    const std::vector<float> logits = {1.0f, 2.0f, 0.5f, -1.0f};
    const int n = 20000;
    std::vector<int> counts(logits.size(), 0);
    for (int id : draws(settings(temperature, 1.0f, seed), logits, n)) ++counts[id];
    const auto p = probabilities(logits, temperature);
    for (std::size_t i = 0; i < p.size(); ++i)
      QVERIFY2(std::abs(counts[i] / double(n) - p[i]) < 0.015,
               qPrintable(QStringLiteral("token %1: frequency %2, softmax %3")
                              .arg(i)
                              .arg(counts[i] / double(n))
                              .arg(p[i])));
  }
};

QTEST_GUILESS_MAIN(TestSampler)
#include "test_sampler.moc"
