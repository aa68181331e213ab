// e^x on arrays: close to the exact value, and each value's result the same bits whatever
// its neighbours.
#include <QString>
#include <QTest>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "run/vector_exp.h"

using namespace moescope;

class TestVectorExp : public QObject {
  Q_OBJECT

 private slots:
  // Within 3 ulps of e^x in double over float's whole range, each value's result the same
  // bits alone as among others (the softmax of a decode step and of a prompt agree).
  void exp_values_is_close_and_elementwise() {
    std::vector<float> x;
    for (float v = -103.0f; v < 88.72f; v += 0.0137f) x.push_back(v);
    x.insert(x.end(), {0.0f, -0.0f, 1e-30f, -std::numeric_limits<float>::infinity()});
    std::vector<float> all(x.size());
    exp_values(x.data(), all.data(), int(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double exact = std::exp(double(x[i]));
      const double ulp = std::max(double(std::numeric_limits<float>::denorm_min()),
                                  double(std::nextafter(float(exact), INFINITY)) - float(exact));
      QVERIFY2(std::abs(all[i] - exact) <= 3 * ulp, qPrintable(QString::number(x[i])));
      float alone = 0.0f;
      exp_values(&x[i], &alone, 1);
      QCOMPARE(std::bit_cast<std::uint32_t>(alone), std::bit_cast<std::uint32_t>(all[i]));
    }
    float big = 89.0f;
    exp_values(&big, &big, 1);
    QVERIFY(std::isinf(big));
  }

  // The same for doubles (the evaluation's losses), within 4 ulps of e^x in long double.
  void exp_values_of_doubles_is_close_and_elementwise() {
    std::vector<double> x;
    for (double v = -745.0; v < 709.7; v += 0.0913) x.push_back(v);
    x.insert(x.end(), {0.0, -0.0, 1e-300, -std::numeric_limits<double>::infinity()});
    std::vector<double> all(x.size());
    exp_values(x.data(), all.data(), int(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      const long double exact = std::exp((long double)x[i]);
      const double ulp = std::max(std::numeric_limits<double>::denorm_min(),
                                  std::nextafter(double(exact), INFINITY) - double(exact));
      QVERIFY2(std::abs((long double)all[i] - exact) <= 4 * (long double)ulp,
               qPrintable(QString::number(x[i])));
      double alone = 0.0;
      exp_values(&x[i], &alone, 1);
      QCOMPARE(std::bit_cast<std::uint64_t>(alone), std::bit_cast<std::uint64_t>(all[i]));
    }
    double big = 710.0;
    exp_values(&big, &big, 1);
    QVERIFY(std::isinf(big));
  }
};

QTEST_GUILESS_MAIN(TestVectorExp)
#include "test_vector_exp.moc"
