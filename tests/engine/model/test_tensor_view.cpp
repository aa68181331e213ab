// Tensor views: widening stored elements to f32, and the shape spelling in messages.
#include <QList>
#include <QTest>
#include <cstdint>
#include <utility>
#include <vector>

#include "model/tensor_view.h"

using namespace moescope;

namespace {

// A tensor of the given shape over raw element bits, stored in `dtype`.
struct BitsTensor {
  std::vector<std::uint16_t> half;
  std::vector<std::uint32_t> single;
  TensorView view;

  BitsTensor(DType dtype, const QList<quint32>& bits, std::vector<std::int64_t> shape) {
    for (quint32 b : bits)
      (dtype == DType::f32 ? single.push_back(b) : half.push_back(std::uint16_t(b)));
    view.dtype = dtype;
    view.shape = std::move(shape);
    view.data = dtype == DType::f32 ? static_cast<const void*>(single.data())
                                    : static_cast<const void*>(half.data());
  }
};

}  // namespace

class TestTensorView : public QObject {
  Q_OBJECT

 private slots:
  void widen_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<QList<quint32>>("bits");  // raw element bits
    QTest::addColumn<int>("offset");
    QTest::addColumn<int>("n");
    QTest::addColumn<QList<float>>("expected");
    QTest::newRow("BF16 all") << int(DType::bf16) << QList<quint32>{0x3f80, 0xc020, 0x4049, 0x3f00}
                              << 0 << 4 << QList<float>{1, -2.5f, 3.140625f, 0.5f};
    QTest::newRow("BF16 offset 2")
        << int(DType::bf16) << QList<quint32>{0x3f80, 0xc020, 0x4049, 0x3f00} << 2 << 2
        << QList<float>{3.140625f, 0.5f};
    QTest::newRow("F16 all") << int(DType::f16) << QList<quint32>{0x3c00, 0xc100, 0x4248, 0x3800}
                             << 0 << 4 << QList<float>{1, -2.5f, 3.140625f, 0.5f};
    QTest::newRow("F16 offset 1") << int(DType::f16)
                                  << QList<quint32>{0x3c00, 0xc100, 0x4248, 0x3800} << 1 << 2
                                  << QList<float>{-2.5f, 3.140625f};
    QTest::newRow("F32 offset 3") << int(DType::f32)
                                  << QList<quint32>{0x3f800000, 0xc0200000, 0x40490000, 0x3f000000,
                                                    0x41200000}
                                  << 3 << 2 << QList<float>{0.5f, 10.0f};
  }
  void widen() {
    QFETCH(int, dtype);
    QFETCH(QList<quint32>, bits);
    QFETCH(int, offset);
    QFETCH(int, n);
    QFETCH(QList<float>, expected);
    const BitsTensor t(DType(dtype), bits, {std::int64_t(bits.size())});
    QList<float> out(n, -1.0f);
    moescope::widen(t.view, offset, n, out.data());
    QCOMPARE(out, expected);
  }

  // The whole tensor, whatever its shape: the same values as widening every element.
  void to_f32_data() { widen_data(); }
  void to_f32() {
    QFETCH(int, dtype);
    QFETCH(QList<quint32>, bits);
    const BitsTensor t(DType(dtype), bits, {1, std::int64_t(bits.size())});
    std::vector<float> whole(bits.size());
    moescope::widen(t.view, 0, t.view.numel(), whole.data());
    QCOMPARE(moescope::to_f32(t.view), whole);
  }

  void shape_string() {
    QCOMPARE(moescope::shape_string({64, 2048}), std::string("[64, 2048]"));
    QCOMPARE(moescope::shape_string({}), std::string("[]"));
  }
};

QTEST_GUILESS_MAIN(TestTensorView)
#include "test_tensor_view.moc"
