// The CPU backend's ops against values computed by hand (or, for big shapes, by
// a plain double-precision loop over the same rounded weights).
#include <QList>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cpu/attention.h"
#include "cpu/cpu_ops.h"
#include "cpu/integer_dot.h"
#include "cpu/interleaved_rows.h"
#include "cpu/interleaved_weights.h"
#include "model/dtype.h"
#include "model/quant_blocks.h"
#include "model/tensor_view.h"

using namespace moescope;

namespace {

// A weight matrix in one storage dtype, plus the f32 values it really holds
// after rounding (what the reference computation must use).
struct Matrix {
  std::vector<float> f32;
  std::vector<std::uint16_t> half;
  std::vector<std::uint8_t> blocks;  // quantized
  std::vector<float> exact;          // [rows * cols] the stored values, widened
  TensorView view;
};

Matrix make_matrix(DType dtype, int rows, int cols, const std::vector<float>& values) {
  Matrix m;
  m.exact.resize(values.size());
  if (dtype == DType::f32) {
    m.f32 = values;
    m.exact = values;
  } else {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::uint16_t h = dtype == DType::bf16 ? f32_to_bf16(values[i]) : f32_to_f16(values[i]);
      m.half.push_back(h);
      m.exact[i] = dtype == DType::bf16 ? bf16_to_f32(h) : f16_to_f32(h);
    }
  }
  m.view.dtype = dtype;
  m.view.shape = {rows, cols};
  m.view.data = dtype == DType::f32 ? static_cast<const void*>(m.f32.data())
                                    : static_cast<const void*>(m.half.data());
  return m;
}

// Byte offsets of a block's f16 scales.
std::vector<std::size_t> f16_fields(DType dtype) {
  switch (dtype) {
    case DType::q8_0:
      return {offsetof(BlockQ8_0, d)};
    case DType::q4_0:
      return {offsetof(BlockQ4_0, d)};
    case DType::q4_k:
      return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    default:
      return {offsetof(BlockQ6_K, d)};
  }
}

// Random blocks of a quantized dtype: random bytes, each f16 scale a random weight-sized
// value. `exact` is their dequantization (checked against gguf-py in test_quant_blocks).
Matrix make_quantized(DType dtype, int rows, int cols, std::uint32_t seed) {
  Matrix m;
  const BlockLayout b = block_layout(dtype);
  const std::int64_t n_blocks = std::int64_t(rows) * cols / b.elements;
  m.blocks.resize(std::size_t(n_blocks * b.bytes));
  std::mt19937 rng(seed);
  for (auto& byte : m.blocks) byte = std::uint8_t(rng());
  std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
  for (std::int64_t i = 0; i < n_blocks; ++i)
    for (const std::size_t field : f16_fields(dtype)) {
      const std::uint16_t h = f32_to_f16(scale(rng));
      std::memcpy(&m.blocks[std::size_t(i * b.bytes) + field], &h, sizeof h);
    }
  m.view.dtype = dtype;
  m.view.shape = {rows, cols};
  m.view.data = m.blocks.data();
  m.exact = to_f32(m.view);
  return m;
}

// The same values as `m`, stored as f32.
Matrix dequantized(const Matrix& m) {
  return make_matrix(DType::f32, int(m.view.shape[0]), int(m.view.shape[1]), m.exact);
}

QList<float> list_of(const float* v, int n) {
  return QList<float>(v, v + n);
}

// Fails with both vectors shown unless every |a - b| <= tol.
bool near(const QList<float>& actual, const QList<float>& expected, double tol, QString* why) {
  if (actual.size() != expected.size()) {
    *why = QStringLiteral("size %1 != %2").arg(actual.size()).arg(expected.size());
    return false;
  }
  for (qsizetype i = 0; i < actual.size(); ++i)
    if (!(std::abs(double(actual[i]) - double(expected[i])) <= tol)) {
      *why = QStringLiteral("element %1: %2 != %3 (tolerance %4)")
                 .arg(i)
                 .arg(double(actual[i]), 0, 'g', 9)
                 .arg(double(expected[i]), 0, 'g', 9)
                 .arg(tol);
      return false;
    }
  return true;
}

#define QVERIFY_NEAR(actual, expected, tol)                         \
  do {                                                              \
    QString why_;                                                   \
    QVERIFY2(near(actual, expected, tol, &why_), qPrintable(why_)); \
  } while (0)

}  // namespace

class TestCpuOps : public QObject {
  Q_OBJECT

 private slots:
  // Small integer-ish values are exact in every dtype and every partial sum, so
  // the result must match the hand-computed one exactly.
  void matvec_small_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    for (DType t : {DType::f32, DType::bf16, DType::f16})
      for (auto [r, c] : {std::pair{2, 3}, std::pair{3, 5}, std::pair{7, 33}, std::pair{5, 16},
                          std::pair{4, 17}, std::pair{1, 1}}) {
        const QByteArray name = QByteArray(dtype_name(t).data(), dtype_name(t).size()) + " " +
                                QByteArray::number(r) + "x" + QByteArray::number(c);
        QTest::newRow(name.constData()) << int(t) << r << c;
      }
  }
  void matvec_small() {
    QFETCH(int, dtype);
    QFETCH(int, rows);
    QFETCH(int, cols);
    std::vector<float> w(std::size_t(rows) * cols), x(cols);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) w[r * cols + c] = float((r * 7 + c * 3) % 11 - 5) * 0.25f;
    for (int c = 0; c < cols; ++c) x[c] = float((c * 5) % 7 - 3) * 0.5f;
    const Matrix m = make_matrix(DType(dtype), rows, cols, w);
    QCOMPARE(m.exact, w);  // the values survive the dtype round trip unchanged

    std::vector<float> y(rows, -1.0f);
    cpu::matvec(m.view, x.data(), y.data());
    for (int r = 0; r < rows; ++r) {
      double expected = 0.0;
      for (int c = 0; c < cols; ++c) expected += double(w[r * cols + c]) * x[c];
      QCOMPARE(y[r], float(expected));
    }
  }

  void matvec_hand_computed() {
    // [[1, 2, 3], [4, 5, 6]] · [1, 0, -1] = [-2, -2]; [[0.5, -1, 2]] · [2, 3, 0.25] = -1.5
    const Matrix a = make_matrix(DType::bf16, 2, 3, {1, 2, 3, 4, 5, 6});
    const float xa[] = {1, 0, -1};
    float ya[2];
    cpu::matvec(a.view, xa, ya);
    QCOMPARE(ya[0], -2.0f);
    QCOMPARE(ya[1], -2.0f);
    const Matrix b = make_matrix(DType::f16, 1, 3, {0.5f, -1, 2});
    const float xb[] = {2, 3, 0.25f};
    float yb;
    cpu::matvec(b.view, xb, &yb);
    QCOMPARE(yb, -1.5f);
  }

  // Random values, a shape big enough for the parallel path, against a double loop
  // over the rounded weights; the tolerance scales with sum |w x|.
  void matvec_large_data() {
    QTest::addColumn<int>("dtype");
    QTest::newRow("F32") << int(DType::f32);
    QTest::newRow("BF16") << int(DType::bf16);
    QTest::newRow("F16") << int(DType::f16);
  }
  void matvec_large() {
    QFETCH(int, dtype);
    const int rows = 300, cols = 1000;
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> w(std::size_t(rows) * cols), x(cols);
    for (float& v : w) v = dist(rng);
    for (float& v : x) v = dist(rng);
    const Matrix m = make_matrix(DType(dtype), rows, cols, w);
    std::vector<float> y(rows);
    cpu::matvec(m.view, x.data(), y.data());
    for (int r = 0; r < rows; ++r) {
      double expected = 0.0, magnitude = 0.0;
      for (int c = 0; c < cols; ++c) {
        expected += double(m.exact[r * cols + c]) * x[c];
        magnitude += std::abs(double(m.exact[r * cols + c]) * x[c]);
      }
      QVERIFY2(std::abs(y[r] - expected) <= 1e-5 * magnitude,
               qPrintable(QStringLiteral("row %1: %2 vs %3").arg(r).arg(y[r]).arg(expected)));
    }
  }

  // A batch's product is matvec's, row for row, bit for bit: the batched backend's
  // results equal token-by-token runs because of it. Widths off the 16-lane stride too.
  // A quantized matvec against the f32 matvec over the dequantized matrix. Every
  // quantized dtype quantizes the activations to int8 per 32 values (integer dot
  // products): each value moves by at most half its block's step max|x| / 127, so the
  // bound is rounding (1e-6 of sum |w x|) plus sum |w| * step / 2 (the format's stated error).
  // Activation blocks as Q8_0 would quantize them (d = max|x| / 127, q = round(x / d) to
  // nearest even, the sum of q beside), from a plain statement of that rule: random blocks,
  // halves that round to even, an all-zero block, and blocks with NaN and infinity.
  void activations_quantize_by_the_q8_0_rule() {
    std::mt19937 rng(11);
    std::normal_distribution<float> dist(0.0f, 3.0f);
    std::vector<float> x(32 * 8);
    for (float& v : x) v = dist(rng);
    for (int i = 0; i < 31; ++i) x[32 + i] = float(i - 16) + 0.5f;  // q = x exactly: halves
    x[32 + 31] = 127.0f;                                            // amax 127
    std::fill(x.begin() + 64, x.begin() + 96, 0.0f);
    x[96 + 5] = std::numeric_limits<float>::quiet_NaN();
    x[128 + 31] = -std::numeric_limits<float>::infinity();
    x[160] = 1e-30f;  // tiny values quantize like any others
    std::vector<cpu::ActivationBlock> got(8);
    cpu::quantize_activations(x.data(), int(x.size()), got.data());
    for (int b = 0; b < 8; ++b) {
      const float* v = x.data() + 32 * b;
      float amax = 0.0f;
      bool finite = true;
      for (int i = 0; i < 32; ++i) {
        finite = finite && std::isfinite(v[i]);
        amax = std::max(amax, std::abs(v[i]));
      }
      if (!finite) {
        QVERIFY(std::isnan(got[b].d));
        continue;
      }
      QCOMPARE(got[b].d, amax / 127.0f);
      int sum = 0;
      for (int i = 0; i < 32; ++i) {
        const int q = amax > 0.0f ? int(std::nearbyint(v[i] * (127.0f / amax))) : 0;
        QCOMPARE(int(got[b].q[i]), q);
        sum += q;
      }
      QCOMPARE(got[b].sum, float(sum));
    }
  }

  void quantized_matvec_equals_dequantized_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("cols");
    for (const DType dtype : {DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k})
      for (const int cols : {256, 1024, 2816}) {
        if (cols % block_layout(dtype).elements) continue;
        QTest::newRow(qPrintable(
            QStringLiteral("%1 x%2").arg(QString::fromUtf8(dtype_name(dtype).data())).arg(cols)))
            << int(dtype) << cols;
      }
  }
  void quantized_matvec_equals_dequantized() {
    QFETCH(int, dtype);
    QFETCH(int, cols);
    const int rows = 96;
    const Matrix q = make_quantized(DType(dtype), rows, cols, 11);
    const Matrix f = dequantized(q);
    std::mt19937 rng(3);
    std::normal_distribution<float> dist;
    std::vector<float> x(cols);
    for (float& v : x) v = dist(rng);
    std::vector<float> yq(rows), yf(rows);
    cpu::matvec(q.view, x.data(), yq.data());
    cpu::matvec(f.view, x.data(), yf.data());
    std::vector<double> half_step(cols, 0.0);
    for (int c = 0; c < cols; c += 32) {
      const double amax =
          std::abs(*std::max_element(x.begin() + c, x.begin() + c + 32,
                                     [](float a, float b) { return std::abs(a) < std::abs(b); }));
      std::fill(half_step.begin() + c, half_step.begin() + c + 32, amax / 127 / 2);
    }
    for (int r = 0; r < rows; ++r) {
      double magnitude = 0.0, activation_error = 0.0;
      for (int c = 0; c < cols; ++c) {
        magnitude += std::abs(double(q.exact[r * cols + c]) * x[c]);
        activation_error += std::abs(double(q.exact[r * cols + c])) * half_step[c];
      }
      QVERIFY2(std::abs(double(yq[r]) - yf[r]) <= 1e-6 * magnitude + activation_error,
               qPrintable(QStringLiteral("row %1: %2 vs %3").arg(r).arg(yq[r]).arg(yf[r])));
    }
  }

  void matmul_equals_matvec_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("tokens");
    for (const auto& [name, dtype] :
         {std::pair{"F32", DType::f32}, {"BF16", DType::bf16}, {"F16", DType::f16}})
      for (const int cols : {24, 64, 100, 2048})
        for (const int tokens : {2, 7})
          QTest::newRow(qPrintable(QStringLiteral("%1 512x%2 x%3").arg(name).arg(cols).arg(tokens)))
              << int(dtype) << 512 << cols << tokens;
    // 13 rows: the quantized types' 8 repacked rows, then 5 row by row; float rows in pairs
    // and one alone.
    for (const DType dtype :
         {DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k, DType::bf16, DType::f16})
      for (const int rows : {512, 13})
        for (const int cols : {256, 2048})
          for (const int tokens : {2, 7, 9})
            QTest::newRow(qPrintable(QStringLiteral("%1 %2x%3 x%4")
                                         .arg(QString::fromUtf8(dtype_name(dtype).data()))
                                         .arg(rows)
                                         .arg(cols)
                                         .arg(tokens)))
                << int(dtype) << rows << cols << tokens;
  }
  void matmul_equals_matvec() {
    QFETCH(int, dtype);
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(int, tokens);
    std::mt19937 rng(7);
    std::normal_distribution<float> dist;
    std::vector<float> w(std::size_t(rows) * cols), x(std::size_t(tokens) * cols);
    for (float& v : w) v = dist(rng);
    for (float& v : x) v = dist(rng);
    const Matrix m = is_quantized(DType(dtype)) ? make_quantized(DType(dtype), rows, cols, 7)
                                                : make_matrix(DType(dtype), rows, cols, w);
    std::vector<float> batch(std::size_t(tokens) * rows), one(rows);
    cpu::matmul(m.view, x.data(), tokens, batch.data());
    for (int t = 0; t < tokens; ++t) {
      cpu::matvec(m.view, x.data() + std::size_t(t) * cols, one.data());
      QCOMPARE(std::vector<float>(batch.begin() + t * rows, batch.begin() + (t + 1) * rows), one);
    }
  }

  // Float rows give the bits of one fixed order on every CPU (AVX-512, AVX2 or neither),
  // alone and in batches: 16 lanes of fused multiply-adds, the lanes summed as a tree
  // (l + 8, l + 4, l + 2, l + 1), then the columns past the last 16 one by one.
  void float_rows_keep_one_lane_order_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("tokens");
    for (const DType dtype : {DType::f32, DType::bf16, DType::f16})
      for (const int cols : {16, 100, 2048})
        for (const int tokens : {1, 2, 7})
          QTest::newRow(qPrintable(QStringLiteral("%1 13x%2 x%3")
                                       .arg(QString::fromUtf8(dtype_name(dtype).data()))
                                       .arg(cols)
                                       .arg(tokens)))
              << int(dtype) << cols << tokens;
  }
  void float_rows_keep_one_lane_order() {
    QFETCH(int, dtype);
    QFETCH(int, cols);
    QFETCH(int, tokens);
    constexpr int rows = 13;
    std::mt19937 rng(9);
    std::normal_distribution<float> dist;
    std::vector<float> w(std::size_t(rows) * cols), x(std::size_t(tokens) * cols);
    for (float& v : w) v = dist(rng);
    for (float& v : x) v = dist(rng);
    const Matrix m = make_matrix(DType(dtype), rows, cols, w);
    std::vector<float> y(std::size_t(tokens) * rows);
    cpu::matmul(m.view, x.data(), tokens, y.data());
    for (int t = 0; t < tokens; ++t)
      for (int r = 0; r < rows; ++r) {
        const float* wr = m.exact.data() + std::size_t(r) * cols;
        const float* xt = x.data() + std::size_t(t) * cols;
        float lane[16] = {};
        int i = 0;
        for (; i + 16 <= cols; i += 16)
          for (int l = 0; l < 16; ++l) lane[l] = std::fma(wr[i + l], xt[i + l], lane[l]);
        for (int width = 8; width > 0; width /= 2)
          for (int l = 0; l < width; ++l) lane[l] += lane[l + width];
        float expected = lane[0];
        for (; i < cols; ++i) expected = std::fma(wr[i], xt[i], expected);
        QCOMPARE(y[std::size_t(t) * rows + r], expected);
      }
  }

  // The backend's interleaved copy of quantized rows gives the same bits as the rows alone,
  // for one token and for batches, in whole groups of 8 and in the rows after them.
  void interleaved_copy_gives_the_same_bits_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    for (const DType dtype : {DType::q8_0, DType::q4_0, DType::q4_k, DType::q6_k})
      for (const int rows : {13, 512})
        for (const int cols : {256, 2048})
          QTest::newRow(qPrintable(QStringLiteral("%1 %2x%3")
                                       .arg(QString::fromUtf8(dtype_name(dtype).data()))
                                       .arg(rows)
                                       .arg(cols)))
              << int(dtype) << rows << cols;
  }
  void interleaved_copy_gives_the_same_bits() {
    QFETCH(int, dtype);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const Matrix m = make_quantized(DType(dtype), rows, cols, 5);
    ModelWeights weights;
    weights.lm_head = m.view;
    const cpu::InterleavedWeights none(weights, 0), copied(weights, std::uint64_t(1) << 40);
    QCOMPARE(none.bytes(), 0u);
    QVERIFY(none.weights().lm_head.interleaved == nullptr);
    const std::int64_t group_bytes = cpu::interleaved_group_bytes(DType(dtype), cols);
    QCOMPARE(copied.bytes(), std::uint64_t(rows / 8 * group_bytes));
    QCOMPARE(copied.weights().lm_head.interleaved != nullptr, group_bytes > 0);
    std::mt19937 rng(8);
    std::normal_distribution<float> dist;
    for (const int tokens : {1, 2, 5, 9}) {
      std::vector<float> x(std::size_t(tokens) * cols);
      for (float& v : x) v = dist(rng);
      std::vector<float> alone(std::size_t(tokens) * rows), from_copy(alone.size());
      cpu::matmul(m.view, x.data(), tokens, alone.data());
      cpu::matmul(copied.weights().lm_head, x.data(), tokens, from_copy.data());
      QCOMPARE(from_copy, alone);
    }
  }

  // Products of several dtypes, widths and token counts in one region: each equals its
  // own matmul bit for bit (the MoE layer runs its chosen experts this way).
  void matmul_all_equals_each_matmul() {
    std::mt19937 rng(9);
    std::normal_distribution<float> dist;
    std::vector<float> w(std::size_t(96) * 512);
    for (float& v : w) v = dist(rng);
    std::vector<Matrix> matrices;  // moved in, never copied: each view points into its own
    matrices.push_back(make_quantized(DType::q4_k, 40, 512, 1));
    matrices.push_back(make_matrix(DType::bf16, 96, 512, w));
    matrices.push_back(make_quantized(DType::q8_0, 3, 512, 2));
    matrices.push_back(make_quantized(DType::q6_k, 17, 256, 3));
    matrices.push_back(make_matrix(DType::f16, 5, 512, w));
    const int tokens[] = {1, 6, 2, 9, 3};
    std::vector<std::vector<float>> x(matrices.size()), together(matrices.size());
    std::vector<cpu::Product> products;
    for (std::size_t i = 0; i < matrices.size(); ++i) {
      const auto& shape = matrices[i].view.shape;
      x[i].resize(std::size_t(tokens[i] * shape[1]));
      for (float& v : x[i]) v = dist(rng);
      together[i].assign(std::size_t(tokens[i] * shape[0]), -1.0f);
      products.push_back({&matrices[i].view, x[i].data(), tokens[i], together[i].data()});
    }
    cpu::matmul_all(products);
    for (std::size_t i = 0; i < matrices.size(); ++i) {
      std::vector<float> alone(together[i].size());
      cpu::matmul(matrices[i].view, x[i].data(), tokens[i], alone.data());
      QVERIFY2(std::memcmp(together[i].data(), alone.data(), alone.size() * sizeof(float)) == 0,
               qPrintable(QStringLiteral("product %1").arg(i)));
    }
  }

  void rmsnorm_data() {
    QTest::addColumn<QList<float>>("x");
    QTest::addColumn<QList<float>>("weight");
    QTest::addColumn<float>("eps");
    QTest::addColumn<QList<float>>("expected");
    // mean(x^2) = 7.5, 1/sqrt(7.5) = 0.36514837
    QTest::newRow("1..4, weighted")
        << QList<float>{1, 2, 3, 4} << QList<float>{1, 1, 2, 0.5f} << 0.0f
        << QList<float>{0.36514837f, 0.73029674f, 2.19089023f, 0.73029674f};
    // mean(x^2) = 12.5, 1/sqrt(12.5) = 0.28284271
    QTest::newRow("3, 4") << QList<float>{3, 4} << QList<float>{1, 1} << 0.0f
                          << QList<float>{0.84852814f, 1.13137085f};
    // mean(x^2) = 1, eps 3: 1/sqrt(4) = 0.5
    QTest::newRow("eps counts") << QList<float>{1, -1} << QList<float>{1, 2} << 3.0f
                                << QList<float>{0.5f, -1.0f};
    QTest::newRow("zeros stay finite")
        << QList<float>{0, 0, 0} << QList<float>{1, 1, 1} << 1e-6f << QList<float>{0, 0, 0};
  }
  void rmsnorm() {
    QFETCH(QList<float>, x);
    QFETCH(QList<float>, weight);
    QFETCH(float, eps);
    QFETCH(QList<float>, expected);
    QList<float> out(x.size(), -7.0f);
    cpu::rmsnorm(out.data(), x.data(), weight.data(), int(x.size()), eps);
    QVERIFY_NEAR(out, expected, 1e-6);
  }

  void rope_position_zero_is_identity() {
    std::vector<float> v(2 * 8);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i) * 0.37f - 2.0f;
    const std::vector<float> before = v;
    cpu::rope(v.data(), 2, 8, 0.0f, 10000.0f);
    QCOMPARE(v, before);
  }

  // One 4-dim head at position 1, theta 10000. Rotate-half pairs (i, i + 2):
  // pair 0 turns by 1 rad, pair 1 by 10000^(-1/2) = 0.01 rad.
  void rope_four_dims_position_one() {
    float v[] = {1, 2, 3, 4, 1, 2, 3, 4};  // two identical heads
    cpu::rope(v, 2, 4, 1.0f, 10000.0f);
    // cos 1 = 0.5403023059, sin 1 = 0.8414709848; cos .01 = 0.9999500004, sin .01 = 0.0099998333
    const QList<float> expected = {1 * 0.5403023059f - 3 * 0.8414709848f,   // -1.98411065
                                   2 * 0.9999500004f - 4 * 0.0099998333f,   //  1.95990067
                                   3 * 0.5403023059f + 1 * 0.8414709848f,   //  2.46237790
                                   4 * 0.9999500004f + 2 * 0.0099998333f};  //  4.01979967
    QVERIFY_NEAR(list_of(v, 4), expected, 1e-6);
    QVERIFY_NEAR(list_of(v + 4, 4), expected, 1e-6);  // every head rotated alike
    QVERIFY_NEAR(list_of(v, 4), (QList<float>{-1.98411065f, 1.95990067f, 2.46237790f, 4.01979967f}),
                 1e-6);
  }

  void rope_preserves_norm_and_composes_data() {
    QTest::addColumn<int>("head_dim");
    QTest::addColumn<float>("p1");
    QTest::addColumn<float>("p2");
    QTest::newRow("64 dims, 17 + 5") << 64 << 17.0f << 5.0f;
    QTest::newRow("128 dims, 300 + 1") << 128 << 300.0f << 1.0f;
    QTest::newRow("8 dims, 2.5 + 0.5 (linear scaling)") << 8 << 2.5f << 0.5f;
  }
  void rope_preserves_norm_and_composes() {
    QFETCH(int, head_dim);
    QFETCH(float, p1);
    QFETCH(float, p2);
    const int heads = 3;
    std::mt19937 rng(7);
    std::normal_distribution<float> dist;
    std::vector<float> v(std::size_t(heads) * head_dim);
    for (float& x : v) x = dist(rng);
    std::vector<float> once = v, twice = v;
    cpu::rope(once.data(), heads, head_dim, p1 + p2, 10000.0f);
    cpu::rope(twice.data(), heads, head_dim, p1, 10000.0f);
    cpu::rope(twice.data(), heads, head_dim, p2, 10000.0f);
    for (int h = 0; h < heads; ++h) {
      double before = 0.0, after = 0.0;
      for (int i = 0; i < head_dim; ++i) {
        before += double(v[h * head_dim + i]) * v[h * head_dim + i];
        after += double(once[h * head_dim + i]) * once[h * head_dim + i];
      }
      QVERIFY(std::abs(std::sqrt(after) - std::sqrt(before)) <= 1e-5 * std::sqrt(before));
    }
    QVERIFY_NEAR(list_of(twice.data(), int(v.size())), list_of(once.data(), int(v.size())), 1e-4);
    QVERIFY(once != v);
  }

  void softmax_data() {
    QTest::addColumn<QList<float>>("x");
    QTest::addColumn<QList<float>>("expected");
    QTest::newRow("1, 2, 3") << QList<float>{1, 2, 3}
                             << QList<float>{0.09003057f, 0.24472847f, 0.66524096f};
    QTest::newRow("shift invariant")
        << QList<float>{101, 102, 103} << QList<float>{0.09003057f, 0.24472847f, 0.66524096f};
    // e^0 / (2 + e^-1) = 0.42231882, e^-1 / (2 + e^-1) = 0.15536236
    QTest::newRow("large: 1000, 1000, 999")
        << QList<float>{1000, 1000, 999} << QList<float>{0.42231882f, 0.42231882f, 0.15536236f};
    QTest::newRow("very negative underflows to 0") << QList<float>{-1000, 0} << QList<float>{0, 1};
    QTest::newRow("single") << QList<float>{-5} << QList<float>{1};
    QTest::newRow("uniform") << QList<float>{7, 7, 7, 7}
                             << QList<float>{0.25f, 0.25f, 0.25f, 0.25f};
  }
  void softmax() {
    QFETCH(QList<float>, x);
    QFETCH(QList<float>, expected);
    cpu::softmax(x.data(), int(x.size()));
    QVERIFY_NEAR(x, expected, 1e-6);
    double sum = 0.0;
    for (float p : x) sum += p;
    QVERIFY(std::abs(sum - 1.0) < 1e-6);
  }

  void silu_mul_data() {
    QTest::addColumn<QList<float>>("gate");
    QTest::addColumn<QList<float>>("up");
    QTest::addColumn<QList<float>>("expected");
    // silu(g) = g / (1 + e^-g): silu(1) = 0.73105858, silu(-1) = -0.26894142, silu(2) = 1.76159416
    QTest::newRow("hand") << QList<float>{0, 1, -1, 2} << QList<float>{5, 1, 2, 0.5f}
                          << QList<float>{0, 0.73105858f, -0.53788284f, 0.88079708f};
    QTest::newRow("saturation") << QList<float>{100, -100} << QList<float>{3, 3}
                                << QList<float>{300, 0};
  }
  void silu_mul() {
    QFETCH(QList<float>, gate);
    QFETCH(QList<float>, up);
    QFETCH(QList<float>, expected);
    cpu::silu_mul(gate.data(), up.data(), int(gate.size()));
    QVERIFY_NEAR(gate, expected, 1e-5);
    for (float g : gate) QVERIFY(std::isfinite(g));
  }

  // A prompt's queries at once equal each query alone, bit for bit: few queries (head blocks
  // shared between threads) and many (blocks of queries, the last one short), grouped-query
  // heads, after a prefix, head widths in 16s, 8s and single columns.
  void causal_attention_equals_each_query_data() {
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("pos0");
    QTest::addColumn<int>("heads");
    QTest::addColumn<int>("kv_heads");
    QTest::addColumn<int>("head_dim");
    QTest::newRow("1 query after 40") << 1 << 40 << 16 << 16 << 64;
    QTest::newRow("3 queries, GQA 8/2") << 3 << 5 << 8 << 2 << 32;
    QTest::newRow("37 queries, head_dim 100") << 37 << 0 << 4 << 4 << 100;
    QTest::newRow("64 queries after 9") << 64 << 9 << 16 << 4 << 64;
    QTest::newRow("11 queries, head_dim 40") << 11 << 2 << 6 << 3 << 40;
  }
  void causal_attention_equals_each_query() {
    QFETCH(int, n);
    QFETCH(int, pos0);
    QFETCH(int, heads);
    QFETCH(int, kv_heads);
    QFETCH(int, head_dim);
    std::mt19937 rng(13);
    std::normal_distribution<float> dist;
    const int q_dim = heads * head_dim, kv_dim = kv_heads * head_dim, positions = pos0 + n;
    std::vector<float> q(std::size_t(n) * q_dim), k(std::size_t(positions) * kv_dim), v(k.size());
    for (auto* values : {&q, &k, &v})
      for (float& x : *values) x = dist(rng);
    std::vector<float> batch(q.size()), one(q_dim), scratch(std::size_t(heads) * positions);
    cpu::causal_attention(batch.data(), q.data(), n, pos0, k.data(), v.data(), heads, kv_heads,
                          head_dim);
    for (int t = 0; t < n; ++t) {
      cpu::attention(one.data(), q.data() + std::size_t(t) * q_dim, k.data(), v.data(),
                     pos0 + t + 1, heads, kv_heads, head_dim, scratch.data());
      QCOMPARE(std::vector<float>(batch.begin() + std::size_t(t) * q_dim,
                                  batch.begin() + std::size_t(t + 1) * q_dim),
               one);
    }
  }

  void attention_single_position_returns_v() {
    const int heads = 2, head_dim = 4;
    const float q[] = {3, -1, 2, 0.5f, -4, 1, 1, 9};
    const float k[] = {1, 2, 3, 4, -1, -2, -3, -4};
    const float v[] = {0.5f, -1.5f, 2, 8, 7, 6, 5, 4};
    float out[8], scratch[2];
    cpu::attention(out, q, k, v, 1, heads, heads, head_dim, scratch);
    QCOMPARE(list_of(out, 8), list_of(v, 8));
  }

  // One head, head_dim 2 (scale 1/sqrt 2): q·k0 = 0 and q·k1 * scale = ln 3, so
  // the weights are 1/4 and 3/4. A third cache row lies beyond n_pos and must be
  // ignored (causal).
  void attention_two_positions() {
    const float ln3 = std::log(3.0f);
    const float q[] = {1, 0};
    const float k[] = {0, 0, ln3 * std::sqrt(2.0f), 0, 1e4f, 1e4f};
    const float v[] = {4, 0, 0, 8, 1e6f, 1e6f};
    float out[2], scratch[2];
    cpu::attention(out, q, k, v, 2, 1, 1, 2, scratch);
    QVERIFY_NEAR(list_of(out, 2), (QList<float>{1, 6}), 1e-5);
    QVERIFY_NEAR(list_of(scratch, 2), (QList<float>{0.25f, 0.75f}), 1e-6);
  }

  // 4 query heads over 2 KV heads: heads 0, 1 read KV head 0, which points at
  // position 0; heads 2, 3 read KV head 1, which points at position 1.
  void attention_grouped_query_heads() {
    const int heads = 4, kv_heads = 2, head_dim = 2, n_pos = 2;
    const float big = 100.0f * std::sqrt(2.0f);  // a score of 100 against 0
    const float q[] = {1, 0, 1, 0, 1, 0, 1, 0};
    // [n_pos, kv_heads * head_dim]
    const float k[] = {big, 0, 0,   0,   // position 0: kv head 0, kv head 1
                       0,   0, big, 0};  // position 1
    const float v[] = {1, 2, 5, 6,       //
                       3, 4, 7, 8};
    float out[8], scratch[heads * n_pos];
    cpu::attention(out, q, k, v, n_pos, heads, kv_heads, head_dim, scratch);
    QVERIFY_NEAR(list_of(out, 8), (QList<float>{1, 2, 1, 2, 7, 8, 7, 8}), 1e-5);
  }
};

QTEST_GUILESS_MAIN(TestCpuOps)
#include "test_cpu_ops.moc"
