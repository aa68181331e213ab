// make_random_model (engine/model/random_model.cpp): a model of a config.json's shape
// with seeded random weights has exactly the tensors a checkpoint of that config has,
// the same bytes for the same seed, the promised scales, and is refused before any
// allocation when it does not fit.
#include <QTest>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "model/config.h"
#include "model/model_info.h"
#include "model/random_model.h"
#include "support/expect_error.h"

using namespace moescope;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

fs::path fixture(const QString& name) {
  return fs::path(MOESCOPE_FIXTURES_DIR "/models") / name.toStdString();
}

std::unique_ptr<Model> random_fixture(const QString& name, const RandomWeights& weights = {}) {
  const std::string text = read(fixture(name) / "config.json");
  return make_random_model(name.toStdString(), parse_model_config(text, name.toStdString()), text,
                           weights);
}

std::vector<float> widened(const TensorView& t) {
  std::vector<float> out(t.numel());
  widen(t, 0, t.numel(), out.data());
  return out;
}

bool same_bytes(const TensorView& a, const TensorView& b) {
  const std::size_t size = a.numel() * dtype_size(a.dtype);
  return a.dtype == b.dtype && a.shape == b.shape && std::memcmp(a.data, b.data, size) == 0;
}

void compare_shapes(const TensorView& made, const TensorView& stored) {
  QVERIFY2(made.shape == stored.shape,
           qPrintable(QString::fromStdString(stored.name + ": " + shape_string(made.shape) +
                                             " made, " + shape_string(stored.shape) + " stored")));
}

void compare_mlp(const MlpWeights& made, const MlpWeights& stored) {
  compare_shapes(made.gate, stored.gate);
  compare_shapes(made.up, stored.up);
  compare_shapes(made.down, stored.down);
}

}  // namespace

class TestRandomModel : public QObject {
  Q_OBJECT

 private slots:
  // Every family's fixture checkpoint, remade at random from its config.json: the same
  // tensors, the same shapes, every byte of them counted.
  void same_tensors_as_the_checkpoint_data() {
    QTest::addColumn<QString>("model");
    QTest::newRow("deepseek") << "dense-lead-f32";
    QTest::newRow("deepseek, no dense layer") << "nodense-f16";
    QTest::newRow("mixtral") << "mixtral-bf16-sharded";
    QTest::newRow("qwen2_moe") << "qwen2moe-f32";
    QTest::newRow("olmoe") << "olmoe-f16";
  }
  void same_tensors_as_the_checkpoint() {
    QFETCH(QString, model);
    const auto stored = Model::load(fixture(model));
    const auto made = random_fixture(model);
    QCOMPARE(made->name(), model.toStdString());
    QCOMPARE(made->weight_dtype(), std::string("BF16"));
    const ModelWeights &m = made->weights(), &s = stored->weights();
    compare_shapes(m.embed, s.embed);
    compare_shapes(m.lm_head, s.lm_head);
    QCOMPARE(m.layers.size(), s.layers.size());
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
      const LayerWeights &a = m.layers[i], &b = s.layers[i];
      QCOMPARE(a.is_moe, b.is_moe);
      compare_shapes(a.wq, b.wq);
      compare_shapes(a.wo, b.wo);
      QCOMPARE(a.bq.size(), b.bq.size());
      QCOMPARE(a.q_norm.size(), b.q_norm.size());
      if (!a.is_moe) {
        compare_mlp(a.dense, b.dense);
        continue;
      }
      compare_shapes(a.router, b.router);
      QCOMPARE(a.experts.size(), b.experts.size());
      compare_mlp(a.experts.back(), b.experts.back());
      QCOMPARE(a.shared.has_value(), b.shared.has_value());
      if (a.shared) compare_mlp(*a.shared, *b.shared);
      QCOMPARE(a.shared_gate.has_value(), b.shared_gate.has_value());
    }
    const std::int64_t parameters = count_parameters(made->config()).total;
    QCOMPARE(std::int64_t(made->mapped_bytes()), parameters * 2);
  }

  // The same seed gives the same bytes; another seed, other bytes; another dtype, the
  // same values rounded to it.
  void deterministic() {
    const auto a = random_fixture("qwen2moe-f32", {DType::f32, 7});
    const auto b = random_fixture("qwen2moe-f32", {DType::f32, 7});
    const auto other_seed = random_fixture("qwen2moe-f32", {DType::f32, 8});
    const auto in_bf16 = random_fixture("qwen2moe-f32", {DType::bf16, 7});
    const LayerWeights &la = a->weights().layers[0], &lb = b->weights().layers[0];
    QVERIFY(same_bytes(a->weights().embed, b->weights().embed));
    QVERIFY(same_bytes(la.experts.back().down, lb.experts.back().down));
    QVERIFY(same_bytes(la.router, lb.router));
    QCOMPARE(la.bq, lb.bq);
    QVERIFY(!same_bytes(a->weights().embed, other_seed->weights().embed));
    QVERIFY(!same_bytes(la.wq, la.wk));  // every tensor its own stream
    const std::vector<float> f32 = widened(la.experts.back().down);
    const std::vector<float> bf16 = widened(in_bf16->weights().layers[0].experts.back().down);
    for (std::size_t i = 0; i < f32.size(); ++i)
      QCOMPARE(bf16[i], bf16_to_f32(f32_to_bf16(f32[i])));
  }

  // Matrices about N(0, 1/fan-in), biases about N(0, 0.02), norms 1.
  void scales() {
    const auto m = random_fixture("qwen2moe-f32", {DType::f32, 1});
    const LayerWeights& l = m->weights().layers[0];
    const auto moments = [](const std::vector<float>& v) {
      double sum = 0, squares = 0;
      for (const float x : v) sum += x, squares += double(x) * x;
      const double mean = sum / v.size();
      return std::pair{mean, std::sqrt(squares / v.size() - mean * mean)};
    };
    for (const TensorView* t : {&m->weights().embed, &l.wq, &l.experts[0].down, &l.router}) {
      const auto [mean, stddev] = moments(widened(*t));
      const double expected = 1.0 / std::sqrt(double(t->cols()));
      QVERIFY2(std::abs(stddev / expected - 1) < 0.1 && std::abs(mean) < 0.2 * expected,
               qPrintable(QString("%1: mean %2, deviation %3, expected %4")
                              .arg(QString::fromStdString(t->name))
                              .arg(mean)
                              .arg(stddev)
                              .arg(expected)));
    }
    const auto [bias_mean, bias_stddev] = moments(l.bq);
    QVERIFY2(std::abs(bias_stddev / 0.02 - 1) < 0.2, qPrintable(QString::number(bias_stddev)));
    QVERIFY(std::abs(bias_mean) < 0.005);
    for (const float x : l.attn_norm) QCOMPARE(x, 1.0f);
    for (const float x : m->weights().final_norm) QCOMPARE(x, 1.0f);
  }

  // A model that does not fit is refused before anything is allocated, with the numbers:
  // deepseek-moe-16b in bf16 against a 24 GiB machine, a tiny model against 1 MiB.
  void refused_when_too_big() {
    const fs::path file = fs::path(MOESCOPE_RESOURCES_DIR) / "configs/deepseek-moe-16b-base.json";
    const std::string text = read(file);
    const ModelConfig c = parse_model_config(text, file.string());
    const std::string message = engine_error_of([&] {
      make_random_model("deepseek-moe-16b-base", c, text, {DType::bf16, 0, 24ull << 30});
    });
    QVERIFY_CONTAINS(message, "deepseek-moe-16b-base: the CPU backend needs 32.3 GiB");
    QVERIFY_CONTAINS(message, "but the memory limit has 24.0 GiB");
    QVERIFY_CONTAINS(engine_error_of([] {
                       random_fixture("olmoe-f16", {DType::f32, 0, 1 << 20});
                     }),
                     "olmoe-f16: the CPU backend needs");
    QVERIFY(random_fixture("olmoe-f16", {DType::f32, 0, 1ull << 30}));  // fits
  }
};

QTEST_GUILESS_MAIN(TestRandomModel)
#include "test_random_model.moc"
