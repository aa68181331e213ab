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

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "io/golden_check.h"
#include "model/model.h"

using moescope::check_golden;
using moescope::CpuBackend;
using moescope::GoldenReport;
using moescope::Model;
using nlohmann::json;

namespace {

json read_json(const QString& path) {
  std::ifstream in(path.toStdString());
  return json::parse(in);
}

std::filesystem::path model_dir(const std::string& name) {
  const auto fixture = std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / name;
  if (std::filesystem::exists(fixture)) return fixture;
  return std::filesystem::path(MOESCOPE_RESOURCES_DIR) / "models" / name;
}

QString first_mismatches(const GoldenReport& report) {
  QStringList lines;
  for (std::size_t i = 0; i < report.mismatches.size() && i < 5; ++i)
    lines << QString::fromStdString(report.mismatches[i]);
  return lines.join('\n');
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
    CpuBackend backend(*model);
    const GoldenReport report = check_golden(backend, model->config(), g);
    QVERIFY2(report.ok(), qPrintable(first_mismatches(report)));
    QCOMPARE(report.positions, int(g.at("tokens").size()));
    QVERIFY(report.layer_decisions > 0);
    QCOMPARE(report.near_ties, 0);  // the fixtures are chosen without near-ties
    qInfo("%s: largest logits relative error %.2e, routing error %.2e",
          qPrintable(QFileInfo(golden).fileName()), report.worst_logits_error,
          report.worst_routing_error);
  }

  // A batch computes what token-by-token runs compute, bit for bit: the whole
  // sequence in one call, and in uneven chunks that start mid-cache.
  void batched_equals_token_by_token_data() { matches_reference_data(); }
  void batched_equals_token_by_token() {
    QFETCH(QString, golden);
    const json g = read_json(golden);
    const auto model = Model::load(model_dir(g.at("model").get<std::string>()));
    const moescope::Interventions interventions = moescope::golden_interventions(g);
    const auto tokens = g.at("tokens").get<std::vector<int>>();
    const int n = int(tokens.size());
    CpuBackend one_by_one(*model);
    std::vector<std::vector<float>> expected_logits;
    std::vector<moescope::TokenRouting> expected(n);
    for (int pos = 0; pos < n; ++pos) {
      const auto logits = one_by_one.forward(tokens[pos], pos, interventions, &expected[pos]);
      expected_logits.emplace_back(logits.begin(), logits.end());
    }
    CpuBackend batched(*model);
    for (const int split : {n, 3}) {
      std::vector<moescope::TokenRouting> traces(n);
      std::vector<float> logits;
      batched.reset();
      for (int pos0 = 0; pos0 < n; pos0 += split) {
        const int count = std::min(split, n - pos0);
        const auto rows = batched.forward_batch(
            std::span<const int>(tokens.data() + pos0, count), pos0, interventions,
            std::span(traces.data() + pos0, count), moescope::LogitsWanted::all);
        logits.insert(logits.end(), rows.begin(), rows.end());
      }
      const std::size_t vocab = expected_logits[0].size();
      QCOMPARE(logits.size(), vocab * n);
      for (int pos = 0; pos < n; ++pos) {
        QCOMPARE(
            std::vector<float>(logits.begin() + pos * vocab, logits.begin() + (pos + 1) * vocab),
            expected_logits[pos]);
        QCOMPARE(traces[pos].position, pos);
        QCOMPARE(traces[pos].token_id, tokens[pos]);
        QCOMPARE(traces[pos].layers.size(), expected[pos].layers.size());
        for (std::size_t l = 0; l < traces[pos].layers.size(); ++l) {
          const auto& a = traces[pos].layers[l];
          const auto& b = expected[pos].layers[l];
          QCOMPARE(a.layer, b.layer);
          QCOMPARE(a.scores, b.scores);
          QCOMPARE(a.expert_ids, b.expert_ids);
          QCOMPARE(a.gate_weights, b.gate_weights);
          QCOMPARE(a.shared_active, b.shared_active);
          QCOMPARE(a.shared_gate, b.shared_gate);
          QCOMPARE(a.mask_changed, b.mask_changed);
        }
      }
    }
    // Only the last position's logits unless all are asked for.
    batched.reset();
    const auto last =
        batched.forward_batch(tokens, 0, interventions, {}, moescope::LogitsWanted::last);
    QCOMPARE(std::vector<float>(last.begin(), last.end()), expected_logits.back());
    // Traces are none or one per token.
    std::vector<moescope::TokenRouting> too_few(1);
    QVERIFY_THROWS_EXCEPTION(
        moescope::EngineError,
        batched.forward_batch(tokens, 0, interventions, too_few, moescope::LogitsWanted::last));
    // A batch may rewind the cache but not skip past it.
    QVERIFY_THROWS_EXCEPTION(
        moescope::EngineError,
        batched.forward_batch(tokens, n + 1, interventions, {}, moescope::LogitsWanted::last));
  }

  // Goldens made by transformers' own forward carry its greedy continuation: the
  // engine's argmax, token after token, must pick the same ids.
  void greedy_continuation_matches_data() {
    QTest::addColumn<QString>("golden");
    const QDir dir(QStringLiteral(MOESCOPE_FIXTURES_DIR "/golden"));
    int with_greedy = 0;
    for (const QString& file : dir.entryList({"*.json"}, QDir::Files, QDir::Name))
      if (read_json(dir.filePath(file)).contains("greedy")) {
        QTest::newRow(qPrintable(file)) << dir.filePath(file);
        ++with_greedy;
      }
    QVERIFY2(with_greedy >= 6,
             "transformers 5 goldens missing: run tools/reference/make_t5_fixtures.py");
  }
  void greedy_continuation_matches() {
    QFETCH(QString, golden);
    const json g = read_json(golden);
    const auto model = Model::load(model_dir(g.at("model").get<std::string>()));
    CpuBackend backend(*model);
    const auto tokens = g.at("tokens").get<std::vector<int>>();
    std::span<const float> logits;
    int pos = 0;
    for (int id : tokens) logits = backend.forward(id, pos++, {}, nullptr);
    std::vector<int> greedy;
    for (std::size_t i = 0; i < g.at("greedy").size(); ++i) {
      greedy.push_back(int(std::max_element(logits.begin(), logits.end()) - logits.begin()));
      logits = backend.forward(greedy.back(), pos++, {}, nullptr);
    }
    QCOMPARE(greedy, g.at("greedy").get<std::vector<int>>());
  }

  // The check can fail: each kind of corruption of a golden is reported where it is.
  void corrupted_golden_is_caught() {
    const json g =
        read_json(QStringLiteral(MOESCOPE_FIXTURES_DIR "/golden/dense-lead-f32.plain.json"));
    const auto model = Model::load(model_dir(g.at("model").get<std::string>()));
    CpuBackend backend(*model);
    const auto mismatch_at = [&](const json& bad, const std::string& expected) {
      const GoldenReport report = check_golden(backend, model->config(), bad);
      return !report.ok() && report.mismatches.front().find(expected) != std::string::npos;
    };
    json logits = g;
    for (auto& v : logits["logits"][3]) v = v.get<double>() * 1.01;
    QVERIFY(mismatch_at(logits, "position 3: logits relative error"));
    json ids = g;
    json& layer = ids["routing"][2][0];
    const int first = layer["ids"][0];
    const int unchosen = first == 0 ? 1 + int(layer["ids"].size()) : 0;
    layer["ids"][0] = unchosen;  // an expert the reference did not pick, with no near-tie
    QVERIFY(mismatch_at(ids, "position 2 layer " + std::to_string(int(layer["layer"])) +
                                 ": chosen experts differ"));
    json weights = g;
    weights["routing"][1][0]["weights"][0] =
        weights["routing"][1][0]["weights"][0].get<double>() + 1e-3;
    QVERIFY(mismatch_at(weights, "gate weights differ"));
    json torn = g;
    torn["logits"].erase(torn["logits"].size() - 1);
    QVERIFY_THROWS_EXCEPTION(moescope::EngineError, check_golden(backend, model->config(), torn));
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
