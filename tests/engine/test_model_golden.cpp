// The whole CPU model against the PyTorch reference (tools/reference/):
// logits, routing scores, chosen experts and gate weights at every position,
// with and without interventions, for every family (DeepSeekMoE, Mixtral,
// Qwen2-MoE, OLMoE).
#include <QDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cpu_backend.h"
#include "model.h"

using moescope::CpuBackend;
using moescope::Interventions;
using moescope::Model;
using moescope::TokenRouting;
using nlohmann::json;

namespace {

constexpr double logits_tolerance = 1e-4;   // relative L2 error per position, f32 vs f64
constexpr double routing_tolerance = 1e-5;  // absolute, on probabilities in [0, 1]

json read_json(const QString& path) {
  std::ifstream in(path.toStdString());
  return json::parse(in);
}

std::filesystem::path model_dir(const std::string& name) {
  const auto fixture = std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / name;
  if (std::filesystem::exists(fixture)) return fixture;
  return std::filesystem::path(MOESCOPE_RESOURCES_DIR) / "models" / name;
}

Interventions interventions_from(const json& j) {
  Interventions out;
  for (const auto& pair : j.at("disabled"))
    out.disabled_experts.insert({pair.at(0).get<int>(), pair.at(1).get<int>()});
  for (const auto& layer : j.at("shared_disabled")) out.disabled_shared.insert(layer.get<int>());
  if (!j.at("top_k").is_null()) out.top_k = j.at("top_k").get<int>();
  return out;
}

double relative_error(std::span<const float> actual, const json& expected) {
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double e = expected.at(i).get<double>();
    diff += (actual[i] - e) * (actual[i] - e);
    norm += e * e;
  }
  return std::sqrt(diff / norm);
}

double max_abs_error(const std::vector<float>& actual, const json& expected) {
  double worst = 0.0;
  for (std::size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, std::abs(actual[i] - expected.at(i).get<double>()));
  return worst;
}

// What a mask-free router with the model's own k would have chosen.
std::vector<int> unmasked_choice(const json& scores, int k) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return scores[a].get<double>() > scores[b].get<double>(); });
  order.resize(k);
  std::sort(order.begin(), order.end());
  return order;
}

}  // namespace

class TestModelGolden : public QObject {
  Q_OBJECT

 private slots:
  void matches_reference_data() {
    QTest::addColumn<QString>("golden");
    const QDir dir(QStringLiteral(MOESCOPE_FIXTURES_DIR "/golden"));
    const auto files = dir.entryList({"*.json"}, QDir::Files, QDir::Name);
    QVERIFY2(files.size() >= 6, "golden fixtures missing: run tools/reference/make_fixtures.sh");
    for (const QString& file : files) QTest::newRow(qPrintable(file)) << dir.filePath(file);
  }

  void matches_reference() {
    QFETCH(QString, golden);
    const json g = read_json(golden);
    const auto model = Model::load(model_dir(g.at("model").get<std::string>()));
    const auto& config = model->config();
    const Interventions interventions = interventions_from(g.at("interventions"));
    interventions.validate(config);
    CpuBackend backend(*model);

    const auto tokens = g.at("tokens").get<std::vector<int>>();
    double worst = 0.0;
    for (std::size_t pos = 0; pos < tokens.size(); ++pos) {
      TokenRouting trace;
      const auto logits = backend.forward(tokens[pos], int(pos), interventions, &trace);
      const double err = relative_error(logits, g.at("logits").at(pos));
      worst = std::max(worst, err);
      QVERIFY2(err < logits_tolerance,
               qPrintable(QString("position %1: logits relative error %2").arg(pos).arg(err)));

      const json& layers = g.at("routing").at(pos);
      QCOMPARE(trace.layers.size(), layers.size());
      for (std::size_t l = 0; l < layers.size(); ++l) {
        const auto& actual = trace.layers[l];
        const json& expected = layers[l];
        const QString where = QString("position %1 layer %2").arg(pos).arg(actual.layer);
        QCOMPARE(actual.layer, expected.at("layer").get<int>());
        QVERIFY2(actual.expert_ids == expected.at("ids").get<std::vector<int>>(),
                 qPrintable(where + ": chosen experts differ"));
        QVERIFY2(max_abs_error(actual.scores, expected.at("scores")) < routing_tolerance,
                 qPrintable(where + ": scores differ"));
        QVERIFY2(max_abs_error(actual.gate_weights, expected.at("weights")) < routing_tolerance,
                 qPrintable(where + ": gate weights differ"));
        for (int id : actual.expert_ids)
          QVERIFY2(!interventions.expert_disabled(actual.layer, id),
                   qPrintable(where + ": a disabled expert was chosen"));
        QCOMPARE(actual.shared_active,
                 config.n_shared_experts > 0 && !interventions.shared_disabled(actual.layer));
        // Qwen2-MoE's sigmoid gate on the shared expert; 1 where the shared experts are ungated.
        const double shared_gate = expected.value("shared_gate", 1.0);
        QVERIFY2(std::abs(actual.shared_gate - shared_gate) < routing_tolerance,
                 qPrintable(where + ": shared expert gate differs"));
        std::vector<int> chosen = actual.expert_ids;
        std::sort(chosen.begin(), chosen.end());
        QCOMPARE(actual.mask_changed,
                 chosen != unmasked_choice(expected.at("scores"), config.num_experts_per_tok));
      }
    }
    qInfo("%s: largest logits relative error %.2e", qPrintable(QFileInfo(golden).fileName()), worst);
  }

  // The masked goldens must differ from the plain ones, or they prove nothing.
  void masks_change_routing() {
    const QString dir = QStringLiteral(MOESCOPE_FIXTURES_DIR "/golden/");
    for (const char* model : {"dense-lead-f32", "normtopk-bf16-sharded", "nodense-f16",
                              "mixtral-bf16-sharded", "qwen2moe-f32", "olmoe-f16"}) {
      const json plain = read_json(dir + model + ".plain.json");
      const json masked = read_json(dir + model + ".masked.json");
      QVERIFY2(plain.at("routing") != masked.at("routing"), model);
      QVERIFY2(plain.at("logits") != masked.at("logits"), model);
    }
  }
};

QTEST_GUILESS_MAIN(TestModelGolden)
#include "test_model_golden.moc"
