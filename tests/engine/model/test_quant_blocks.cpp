// llama.cpp's quantized blocks: their layouts, and dequantization (through widen, as the
// embedding and the fuzzers read them) bit for bit against gguf-py's own
// gguf.quants.dequantize (tests/fixtures/quant/, tools/reference/make_quant_fixtures.py).
#include <QFile>
#include <QTest>
#include <cstdint>
#include <cstring>
#include <vector>

#include "model/dtype.h"
#include "model/tensor_view.h"

using namespace moescope;

namespace {

QByteArray read_fixture(const QString& name) {
  QFile file(QStringLiteral(MOESCOPE_FIXTURES_DIR "/quant/") + name);
  if (!file.open(QIODevice::ReadOnly)) qFatal("cannot read fixture %s", qPrintable(name));
  return file.readAll();
}

// The fixture's blocks as a 1-D tensor, and gguf-py's values of it.
struct Golden {
  QByteArray blocks;
  std::vector<float> expected;
  TensorView view;

  Golden(DType dtype, const QString& stem) : blocks(read_fixture(stem + ".blocks")) {
    const QByteArray values = read_fixture(stem + ".f32");
    expected.resize(std::size_t(values.size()) / sizeof(float));
    std::memcpy(expected.data(), values.constData(), std::size_t(values.size()));
    const BlockLayout b = block_layout(dtype);
    view.dtype = dtype;
    view.shape = {std::int64_t(blocks.size() / b.bytes * b.elements)};
    view.data = blocks.constData();
  }
};

void add_quantized_rows() {
  QTest::addColumn<int>("dtype");
  QTest::addColumn<QString>("stem");
  QTest::newRow("Q8_0") << int(DType::q8_0) << "q8_0";
  QTest::newRow("Q4_0") << int(DType::q4_0) << "q4_0";
  QTest::newRow("Q4_K") << int(DType::q4_k) << "q4_k";
  QTest::newRow("Q6_K") << int(DType::q6_k) << "q6_k";
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

class TestQuantBlocks : public QObject {
  Q_OBJECT

 private slots:
  void layouts_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("elements");
    QTest::addColumn<int>("bytes");
    QTest::newRow("F32") << int(DType::f32) << "F32" << 1 << 4;
    QTest::newRow("BF16") << int(DType::bf16) << "BF16" << 1 << 2;
    QTest::newRow("Q8_0") << int(DType::q8_0) << "Q8_0" << 32 << 34;
    QTest::newRow("Q4_0") << int(DType::q4_0) << "Q4_0" << 32 << 18;
    QTest::newRow("Q4_K") << int(DType::q4_k) << "Q4_K" << 256 << 144;
    QTest::newRow("Q6_K") << int(DType::q6_k) << "Q6_K" << 256 << 210;
  }
  void layouts() {
    QFETCH(int, dtype);
    QFETCH(QString, name);
    QFETCH(int, elements);
    QFETCH(int, bytes);
    const DType t = DType(dtype);
    QCOMPARE(QString::fromUtf8(dtype_name(t).data(), dtype_name(t).size()), name);
    QCOMPARE(block_layout(t).elements, elements);
    QCOMPARE(block_layout(t).bytes, bytes);
    QCOMPARE(is_quantized(t), elements > 1);
    QCOMPARE(storage_bytes(t, 3 * std::int64_t(elements)), 3 * std::int64_t(bytes));
    // GGUF's names are not safetensors dtypes.
    QVERIFY(elements == 1 || !dtype_from_name(name.toStdString()));
  }

  void rows_of_skips_whole_rows_of_blocks() {
    std::vector<std::uint8_t> bytes(3 * 2 * 34);
    TensorView t{"w", DType::q8_0, {3, 64}, bytes.data()};
    const TensorView row = rows_of(t, 2, 1);
    QCOMPARE(static_cast<const std::uint8_t*>(row.data) - bytes.data(), 2 * 2 * 34);
    QCOMPARE(row.shape, (std::vector<std::int64_t>{1, 64}));
    QCOMPARE(tensor_bytes(t), std::int64_t(bytes.size()));
  }

  void dequantize_matches_gguf_py_data() { add_quantized_rows(); }
  void dequantize_matches_gguf_py() {
    QFETCH(int, dtype);
    QFETCH(QString, stem);
    const Golden g(DType(dtype), stem);
    QCOMPARE(std::size_t(g.view.numel()), g.expected.size());
    const std::vector<float> widened = to_f32(g.view);
    for (std::size_t i = 0; i < widened.size(); ++i)
      QVERIFY2(same_bits(widened[i], g.expected[i]),
               qPrintable(QStringLiteral("element %1: %2, gguf-py %3")
                              .arg(i)
                              .arg(double(widened[i]), 0, 'g', 9)
                              .arg(double(g.expected[i]), 0, 'g', 9)));
  }

  // A range that starts and ends inside blocks (fuzzers read single last elements).
  void widen_part_of_blocks_data() { add_quantized_rows(); }
  void widen_part_of_blocks() {
    QFETCH(int, dtype);
    QFETCH(QString, stem);
    const Golden g(DType(dtype), stem);
    const std::int64_t block = block_layout(DType(dtype)).elements;
    for (const auto& [offset, n] :
         {std::pair{block - 3, block + 7}, std::pair{g.view.numel() - 1, std::int64_t(1)}}) {
      std::vector<float> part(std::size_t(n), -1.0f);
      widen(g.view, offset, n, part.data());
      for (std::int64_t i = 0; i < n; ++i) QVERIFY(same_bits(part[i], g.expected[offset + i]));
    }
  }
};

QTEST_GUILESS_MAIN(TestQuantBlocks)
#include "test_quant_blocks.moc"
