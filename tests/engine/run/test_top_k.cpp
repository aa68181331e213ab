// The gate's top-k: best first, ties to the lower index, disallowed experts never chosen.
#include <QList>
#include <QTest>
#include <span>
#include <vector>

#include "run/top_k.h"

using namespace moescope;

class TestTopK : public QObject {
  Q_OBJECT

 private slots:
  void top_k_data() {
    QTest::addColumn<QList<float>>("scores");
    QTest::addColumn<int>("k");
    QTest::addColumn<QList<bool>>("allowed");  // empty: all allowed
    QTest::addColumn<QList<int>>("expected");
    const QList<float> s = {0.1f, 0.5f, 0.2f, 0.9f};
    QTest::newRow("best first") << s << 2 << QList<bool>{} << QList<int>{3, 1};
    QTest::newRow("all, sorted") << s << 4 << QList<bool>{} << QList<int>{3, 1, 2, 0};
    QTest::newRow("k = 0") << s << 0 << QList<bool>{} << QList<int>{};
    QTest::newRow("ties to lower index")
        << QList<float>{0.3f, 0.5f, 0.5f, 0.1f, 0.5f} << 2 << QList<bool>{} << QList<int>{1, 2};
    QTest::newRow("ties, three") << QList<float>{0.3f, 0.5f, 0.5f, 0.1f, 0.5f} << 3 << QList<bool>{}
                                 << QList<int>{1, 2, 4};
    QTest::newRow("all equal") << QList<float>{1, 1, 1, 1} << 3 << QList<bool>{}
                               << QList<int>{0, 1, 2};
    QTest::newRow("disallowed best skipped")
        << s << 2 << QList<bool>{true, true, true, false} << QList<int>{1, 2};
    QTest::newRow("disallowed tie winner skipped")
        << QList<float>{0.5f, 0.5f, 0.5f} << 2 << QList<bool>{false, true, true}
        << QList<int>{1, 2};
    QTest::newRow("k larger than allowed count")
        << s << 3 << QList<bool>{false, true, false, true} << QList<int>{3, 1};
    QTest::newRow("k larger than size") << s << 10 << QList<bool>{} << QList<int>{3, 1, 2, 0};
    QTest::newRow("nothing allowed")
        << s << 2 << QList<bool>{false, false, false, false} << QList<int>{};
  }
  void top_k() {
    QFETCH(QList<float>, scores);
    QFETCH(int, k);
    QFETCH(QList<bool>, allowed);
    QFETCH(QList<int>, expected);
    const std::vector<bool> mask(allowed.begin(), allowed.end());
    const std::vector<int> ids =
        moescope::top_k(std::span<const float>(scores.data(), scores.size()), k, mask);
    QCOMPARE(QList<int>(ids.begin(), ids.end()), expected);
  }

  // Known bit patterns: 1.0, -2.5, 3.140625, 0.5 in each storage dtype; the
  // offset counts elements, not bytes.
};

QTEST_GUILESS_MAIN(TestTopK)
#include "test_top_k.moc"
