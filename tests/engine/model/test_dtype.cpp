// Dtype names and the f16/bf16 <-> f32 conversions, checked on known bit patterns.
#include <QTest>
#include <cmath>
#include <cstring>

#include "model/dtype.h"

using namespace moescope;

namespace {

float float_of(quint32 bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

quint32 bits_of(float f) {
  quint32 bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

}  // namespace

class TestDtype : public QObject {
  Q_OBJECT

 private slots:
  void names_and_sizes_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("size");
    QTest::newRow("f32") << int(DType::f32) << "F32" << 4;
    QTest::newRow("f16") << int(DType::f16) << "F16" << 2;
    QTest::newRow("bf16") << int(DType::bf16) << "BF16" << 2;
  }
  void names_and_sizes() {
    QFETCH(int, dtype);
    QFETCH(QString, name);
    QFETCH(int, size);
    const auto t = DType(dtype);
    QCOMPARE(QString::fromUtf8(dtype_name(t).data(), dtype_name(t).size()), name);
    QCOMPARE(int(dtype_size(t)), size);
    QCOMPARE(dtype_from_name(name.toStdString()), std::optional(t));
  }

  void unknown_names() {
    for (const char* name : {"I64", "f32", "bf16", "F64", ""}) QVERIFY(!dtype_from_name(name));
  }

  // f16 bits <-> f32 bits, both ways exact.
  void f16_exact_data() {
    QTest::addColumn<quint16>("half");
    QTest::addColumn<quint32>("single");
    QTest::newRow("1.0") << quint16(0x3c00) << quint32(0x3f800000);
    QTest::newRow("-2.5") << quint16(0xc100) << quint32(0xc0200000);
    QTest::newRow("65504 (max)") << quint16(0x7bff) << quint32(0x477fe000);
    QTest::newRow("2^-24 (smallest subnormal)") << quint16(0x0001) << quint32(0x33800000);
    QTest::newRow("largest subnormal") << quint16(0x03ff) << quint32(0x387fc000);
    QTest::newRow("2^-14 (smallest normal)") << quint16(0x0400) << quint32(0x38800000);
    QTest::newRow("-0") << quint16(0x8000) << quint32(0x80000000);
    QTest::newRow("+inf") << quint16(0x7c00) << quint32(0x7f800000);
    QTest::newRow("-inf") << quint16(0xfc00) << quint32(0xff800000);
  }
  void f16_exact() {
    QFETCH(quint16, half);
    QFETCH(quint32, single);
    QCOMPARE(bits_of(f16_to_f32(half)), single);
    QCOMPARE(f32_to_f16(float_of(single)), half);
  }

  // f32 values between f16 values: round to nearest, ties to even.
  void f32_to_f16_rounding_data() {
    QTest::addColumn<float>("value");
    QTest::addColumn<quint16>("half");
    QTest::newRow("1 + 2^-11 (tie, down to even)")
        << 1.0f + std::ldexp(1.0f, -11) << quint16(0x3c00);
    QTest::newRow("1 + 3*2^-11 (tie, up to even)")
        << 1.0f + 3 * std::ldexp(1.0f, -11) << quint16(0x3c02);
    QTest::newRow("1 + 2^-11 + 2^-20 (above tie)")
        << 1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20) << quint16(0x3c01);
    QTest::newRow("65519 (below tie)") << 65519.0f << quint16(0x7bff);
    QTest::newRow("65520 (tie, to inf)") << 65520.0f << quint16(0x7c00);
    QTest::newRow("1e10 (overflow)") << 1e10f << quint16(0x7c00);
    QTest::newRow("-1e10 (overflow)") << -1e10f << quint16(0xfc00);
    QTest::newRow("2^-25 (tie, to zero)") << std::ldexp(1.0f, -25) << quint16(0x0000);
    QTest::newRow("1.5 * 2^-25") << 1.5f * std::ldexp(1.0f, -25) << quint16(0x0001);
    QTest::newRow("3 * 2^-25 (subnormal tie, to even)")
        << 3 * std::ldexp(1.0f, -25) << quint16(0x0002);
    QTest::newRow("1023.5 * 2^-24 (tie, to smallest normal)")
        << 1023.5f * std::ldexp(1.0f, -24) << quint16(0x0400);
    QTest::newRow("1e-10 (underflow)") << 1e-10f << quint16(0x0000);
    QTest::newRow("-1e-10 (underflow)") << -1e-10f << quint16(0x8000);
    QTest::newRow("f32 subnormal") << float_of(0x00000001) << quint16(0x0000);
  }
  void f32_to_f16_rounding() {
    QFETCH(float, value);
    QFETCH(quint16, half);
    QCOMPARE(f32_to_f16(value), half);
  }

  void f32_to_bf16_rounding_data() {
    QTest::addColumn<quint32>("single");
    QTest::addColumn<quint16>("bf16");
    QTest::newRow("1.0") << quint32(0x3f800000) << quint16(0x3f80);
    QTest::newRow("-2.5") << quint32(0xc0200000) << quint16(0xc020);
    QTest::newRow("tie, down to even") << quint32(0x3f808000) << quint16(0x3f80);
    QTest::newRow("tie, up to even") << quint32(0x3f818000) << quint16(0x3f82);
    QTest::newRow("above tie") << quint32(0x3f808001) << quint16(0x3f81);
    QTest::newRow("below tie") << quint32(0x3f807fff) << quint16(0x3f80);
    QTest::newRow("max f32 rounds to inf") << quint32(0x7f7fffff) << quint16(0x7f80);
    QTest::newRow("+inf") << quint32(0x7f800000) << quint16(0x7f80);
    QTest::newRow("-inf") << quint32(0xff800000) << quint16(0xff80);
    QTest::newRow("smallest f32 subnormal") << quint32(0x00000001) << quint16(0x0000);
  }
  void f32_to_bf16_rounding() {
    QFETCH(quint32, single);
    QFETCH(quint16, bf16);
    QCOMPARE(f32_to_bf16(float_of(single)), bf16);
  }

  void nan_stays_nan() {
    // A signalling nan whose payload lies only in the bits that are dropped.
    for (quint32 bits : {0x7fc00000u, 0xffc00000u, 0x7f800001u}) {
      const float nan = float_of(bits);
      QVERIFY(std::isnan(bf16_to_f32(f32_to_bf16(nan))));
      QVERIFY(std::isnan(f16_to_f32(f32_to_f16(nan))));
    }
    QVERIFY(std::isnan(f16_to_f32(0x7e00)));
    QVERIFY(std::isnan(f16_to_f32(0x7c01)));
  }

  // Widening then narrowing gives back every f16 and bf16 value that is not nan.
  void round_trips_are_exact() {
    for (quint32 h = 0; h <= 0xffff; ++h) {
      const bool f16_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
      if (!f16_nan && f32_to_f16(f16_to_f32(h)) != h)
        QFAIL(qPrintable(QStringLiteral("f16 0x%1 does not round-trip").arg(h, 4, 16)));
      const bool bf16_nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
      if (!bf16_nan && f32_to_bf16(bf16_to_f32(h)) != h)
        QFAIL(qPrintable(QStringLiteral("bf16 0x%1 does not round-trip").arg(h, 4, 16)));
    }
  }
};

QTEST_GUILESS_MAIN(TestDtype)
#include "test_dtype.moc"
