// Parameter counts (engine/model/model_info.cpp): the published sizes of one real
// checkpoint per family, and the exact number of stored weights of every
// fixture checkpoint.
#include <QDir>
#include <QTest>
#include <cmath>
#include <fstream>
#include <sstream>

#include "model/config.h"
#include "model/memory_check.h"
#include "model/model_info.h"
#include "model/safetensors.h"
#include "support/expect_error.h"

using namespace moescope;

namespace {

ModelConfig resource_config(const QString& file) {
  const std::string path = std::string(MOESCOPE_RESOURCES_DIR "/configs/") + file.toStdString();
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_model_config(text.str(), path);
}

}  // namespace

class TestModelInfo : public QObject {
  Q_OBJECT

 private slots:
  // Published sizes are rounded to 0.1 B, so they hold to within 0.05 B.
  void published_sizes_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<double>("total");
    QTest::addColumn<double>("active");
    QTest::newRow("deepseek-moe-16b") << "deepseek-moe-16b-base.json" << 16.4e9 << 2.8e9;
    QTest::newRow("Mixtral-8x7B") << "mixtral-8x7b-v0.1.json" << 46.7e9 << 12.9e9;
    QTest::newRow("Qwen1.5-MoE-A2.7B") << "qwen1.5-moe-a2.7b.json" << 14.3e9 << 2.7e9;
    QTest::newRow("OLMoE-1B-7B") << "olmoe-1b-7b-0924.json" << 6.9e9 << 1.3e9;
  }
  void published_sizes() {
    QFETCH(QString, config);
    QFETCH(double, total);
    QFETCH(double, active);
    const ParameterCounts p = count_parameters(resource_config(config));
    const QString counts = QString("total %1, active %2").arg(p.total).arg(p.active_per_token);
    QVERIFY2(std::abs(double(p.total) - total) < 0.05e9, qPrintable(counts));
    QVERIFY2(std::abs(double(p.active_per_token) - active) < 0.05e9, qPrintable(counts));
  }

  // DeepSeek-V2/V3 publish the active count without the embedding table (a token reads one
  // row of it); the rounding of each figure bounds the difference (V3's and Moonlight's to 1 B;
  // V2-Lite's 2.45 B is published as 2.4 B). Qwen3-30B-A3B counts it in, as the older families
  // do, and truncates too (3.35 B published as 3.3 B).
  void published_sizes_of_later_families_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<double>("total");
    QTest::addColumn<double>("active");
    QTest::addColumn<bool>("without_embedding");
    QTest::addColumn<double>("rounding");
    QTest::newRow("DeepSeek-V2-Lite")
        << "deepseek-v2-lite.json" << 15.7e9 << 2.4e9 << true << 0.06e9;
    QTest::newRow("DeepSeek-V3") << "deepseek-v3.json" << 671e9 << 37e9 << true << 0.5e9;
    QTest::newRow("Moonlight-16B-A3B") << "moonlight-16b-a3b.json" << 16e9 << 3e9 << false << 0.5e9;
    QTest::newRow("Qwen3-30B-A3B") << "qwen3-30b-a3b.json" << 30.5e9 << 3.3e9 << false << 0.06e9;
  }
  void published_sizes_of_later_families() {
    QFETCH(QString, config);
    QFETCH(double, total);
    QFETCH(double, active);
    QFETCH(bool, without_embedding);
    QFETCH(double, rounding);
    const ParameterCounts p = count_parameters(resource_config(config));
    const double counted = double(p.active_per_token - (without_embedding ? p.embedding : 0));
    const QString counts = QString("total %1, active %2").arg(p.total).arg(counted);
    QVERIFY2(std::abs(double(p.total) - total) < rounding, qPrintable(counts));
    QVERIFY2(std::abs(counted - active) < rounding, qPrintable(counts));
  }

  // DeepSeek-V2-Lite's KV cache: per layer and token the 512-wide latent and the 64-wide
  // RoPE key, against 2 x 16 heads x 128 for full multi-head K and V (7.1x less).
  void latent_kv_cache_is_the_latent_and_the_rope_key() {
    const ModelConfig c = resource_config("deepseek-v2-lite.json");
    QCOMPARE(kv_cache_bytes_per_token(c), std::int64_t(27) * (512 + 64) * 4);
  }

  // The published sizes of deepseek-moe-16b: 16.4B parameters, 2.8B active.
  void parameter_count_deepseek_moe_16b() {
    const ModelConfig c = resource_config("deepseek-moe-16b-base.json");
    const ParameterCounts p = count_parameters(c);
    QVERIFY2(std::abs(p.total / 16.38e9 - 1.0) < 0.005, qPrintable(QString::number(p.total)));
    QVERIFY2(std::abs(p.active_per_token / 2.83e9 - 1.0) < 0.01,
             qPrintable(QString::number(p.active_per_token)));
    // 27 MoE layers x 64 experts x 3 x 2048 x 1408
    QCOMPARE(p.routed_experts, std::int64_t(27) * 64 * 3 * 2048 * 1408);
  }

  // A model that does not fit is refused before anything runs, with the numbers.
  void memory_shortfall_is_named() {
    const ModelConfig c = resource_config("deepseek-moe-16b-base.json");
    const std::uint64_t weights = std::uint64_t(count_parameters(c).total) * 2;  // bf16
    const std::string message = engine_error_of([&] {
      require_memory("deepseek-moe-16b-base", "CPU", c, weights, 24ull << 30, "this machine's RAM");
    });
    QVERIFY_CONTAINS(message, "deepseek-moe-16b-base: the CPU backend needs 32.");
    QVERIFY_CONTAINS(message, "30.5 GiB of weights + 1.8 GiB of KV cache for 4096 tokens");
    QVERIFY_CONTAINS(message, "this machine's RAM has 24.0 GiB");
    require_memory("m", "CPU", c, weights, 64ull << 30, "RAM");  // fits
    require_memory("m", "CPU", c, weights, 0, "RAM");            // unknown: not refused
    QVERIFY(physical_memory_bytes() > (1ull << 30));
  }

  // Mixtral-8x7B exactly: 32 layers of attention (GQA 32/8 heads x 128), 8 experts
  // of 3 x 4096 x 14336, a router, two norms; embeddings, lm_head, final norm.
  void mixtral_exact() {
    const ParameterCounts p = count_parameters(resource_config("mixtral-8x7b-v0.1.json"));
    const std::int64_t attention = 4096LL * 128 * (2 * 32 + 2 * 8);
    const std::int64_t expert = 3LL * 4096 * 14336;
    const std::int64_t layer_common = attention + 8 * 4096 + 2 * 4096;
    const std::int64_t outside = 2LL * 32000 * 4096 + 4096;
    QCOMPARE(p.total, outside + 32 * (layer_common + 8 * expert));
    QCOMPARE(p.active_per_token, outside + 32 * (layer_common + 2 * expert));
    QCOMPARE(p.routed_experts, 32 * 8 * expert);
  }

  // Every fixture's count is exactly the number of weights stored in its files,
  // which checks the family extras: q/k/v biases, q/k norms, shared expert gates.
  void matches_checkpoint_data() {
    QTest::addColumn<QString>("model");
    const QDir dir(QStringLiteral(MOESCOPE_FIXTURES_DIR "/models"));
    for (const QString& model : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
      QTest::newRow(qPrintable(model)) << dir.filePath(model);
  }
  void matches_checkpoint() {
    QFETCH(QString, model);
    const std::filesystem::path dir = model.toStdString();
    const SafetensorsArchive archive(dir);
    const ModelConfig config = load_model_config(dir);
    // DeepSeek-V3's multi-token-prediction layer (model.layers.N, N = num_hidden_layers) is
    // stored but neither loaded nor counted.
    const std::string mtp = "model.layers." + std::to_string(config.num_hidden_layers) + ".";
    std::int64_t stored = 0;
    for (const auto& [name, view] : archive.tensors())
      if (name.rfind(mtp, 0) != 0) stored += view->numel();
    QCOMPARE(count_parameters(config).total, stored);
  }
};

QTEST_GUILESS_MAIN(TestModelInfo)
#include "test_model_info.moc"
