// moescope-cli quantize's writer (model/gguf_export.h) on the bundled deepseekmoe-tiny:
// every tensor's bytes equal what gguf-py's own quantizer made of the same weights
// (tools/reference/make_quantize_fixtures.py), the file loads and predicts the f16
// original's next tokens and experts except at near-ties, it carries its tokenizer, and
// it never replaces its input or leaves a partial file.
#include <QCryptographicHash>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "cpu/cpu_backend.h"
#include "model/gguf.h"
#include "model/gguf_export.h"
#include "model/model.h"
#include "support/batch_run.h"
#include "support/expect_error.h"
#include "tokenizer/gguf_tokenizer.h"
#include "tokenizer/gguf_vocabulary.h"
#include "tokenizer/tokenizer.h"

using namespace moescope;
namespace fs = std::filesystem;

namespace {

const fs::path tiny = fs::path(MOESCOPE_RESOURCES_DIR) / "models" / "deepseekmoe-tiny";

DType type_of(const QString& name) {
  return name == "Q8_0" ? DType::q8_0 : name == "Q4_0" ? DType::q4_0 : DType::f16;
}

fs::path quantized(const QTemporaryDir& dir, const QString& type) {
  const fs::path out =
      fs::path(dir.path().toStdString()) / ("tiny." + type.toStdString() + ".gguf");
  const auto model = Model::load(tiny);
  export_gguf_model(*model, type_of(type), gguf_tokenizer_metadata(tiny, model->config().family),
                    out);
  return out;
}

BatchRun run(const Model& model, const std::vector<int>& tokens) {
  CpuBackend backend(model);
  return run_batch(backend, tokens);
}

const std::vector<std::string> texts = {
    "Once upon a time, there was a little girl who loved to play in the park.",
    "The cat sat on the mat and looked at the bird outside the window."};

}  // namespace

class TestGgufExport : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;

 private slots:
  void blocks_equal_gguf_py_data() {
    QTest::addColumn<QString>("type");
    QTest::newRow("Q8_0") << "Q8_0";
    QTest::newRow("Q4_0") << "Q4_0";
  }
  void blocks_equal_gguf_py() {
    QFETCH(QString, type);
    const GgufFile file(quantized(tmp_, type));
    const nlohmann::json expected =
        read_json_file(fs::path(MOESCOPE_FIXTURES_DIR) / "gguf" / "deepseekmoe-tiny.quantized.json")
            .at(type.toStdString());
    QCOMPARE(file.tensors().size(), expected.size());
    for (const auto& [name, t] : file.tensors()) {
      QVERIFY2(expected.contains(name), name.c_str());
      const nlohmann::json& e = expected.at(name);
      QCOMPARE(std::string(dtype_name(t.dtype)), e.at("type").get<std::string>());
      QCOMPARE(t.shape, e.at("shape").get<std::vector<std::int64_t>>());
      const QByteArray bytes(static_cast<const char*>(t.data), qsizetype(tensor_bytes(t)));
      QVERIFY2(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex().toStdString() ==
                   e.at("sha256").get<std::string>(),
               name.c_str());
    }
  }

  // Teacher-forced on two sentences: the quantized model's most likely next token is the
  // original's, except where the original ranks it within `tie` logits of its own best
  // (measured: one of 41 differs, by 0.012 for Q8_0 and 0.41 for Q4_0); its experts are the
  // original's, except that one may trade places with another whose original score lies
  // within `expert_tie` (relative) of the k-th best. An F16 file holds the f16 model's own
  // weights: its logits are the original's exactly.
  void predicts_like_the_original_data() {
    QTest::addColumn<QString>("type");
    QTest::addColumn<float>("tie");
    QTest::addColumn<float>("expert_tie");
    QTest::newRow("Q8_0") << "Q8_0" << 0.05f << 0.05f;
    QTest::newRow("Q4_0") << "Q4_0" << 0.5f << 0.25f;
    QTest::newRow("F16 (the same weights: no difference at all)") << "F16" << 0.0f << 0.0f;
  }
  void predicts_like_the_original() {
    QFETCH(QString, type);
    QFETCH(float, tie);
    QFETCH(float, expert_tie);
    const auto reference = Model::load(tiny);
    const auto model = Model::load(quantized(tmp_, type));
    QCOMPARE(model->weight_dtype(), type.toStdString());
    const auto tokenizer = load_tokenizer(tiny);
    const int vocab = reference->config().vocab_size;
    int compared = 0, ties = 0;
    float worst = 0;  // largest logit difference
    for (const std::string& text : texts) {
      const std::vector<int> tokens = tokenizer->encode(text);
      const BatchRun a = run(*model, tokens), b = run(*reference, tokens);
      for (std::size_t t = 0; t < tokens.size(); ++t) {
        const float* x = a.logits.data() + t * vocab;
        const float* y = b.logits.data() + t * vocab;
        const auto best_x = std::max_element(x, x + vocab) - x;
        const auto best_y = std::max_element(y, y + vocab) - y;
        ++compared;
        for (int v = 0; v < vocab; ++v) worst = std::max(worst, std::abs(x[v] - y[v]));
        if (best_x != best_y) {
          ++ties;
          QVERIFY2(y[best_y] - y[best_x] <= tie,
                   qPrintable(QStringLiteral("token %1: predicts %2, the original %3 by %4 logits")
                                  .arg(t)
                                  .arg(best_x)
                                  .arg(best_y)
                                  .arg(y[best_y] - y[best_x])));
        }
        for (std::size_t l = 0; l < a.routing[t].layers.size(); ++l) {
          const LayerRouting &p = a.routing[t].layers[l], &q = b.routing[t].layers[l];
          std::vector<int> ps = p.expert_ids, qs = q.expert_ids, traded;
          std::sort(ps.begin(), ps.end());
          std::sort(qs.begin(), qs.end());
          std::vector<float> scores = q.scores;
          std::sort(scores.rbegin(), scores.rend());
          const float kth = scores[qs.size() - 1];
          std::set_symmetric_difference(ps.begin(), ps.end(), qs.begin(), qs.end(),
                                        std::back_inserter(traded));
          for (const int e : traded)
            QVERIFY2(std::abs(q.scores[std::size_t(e)] - kth) <= expert_tie * kth,
                     qPrintable(QStringLiteral("token %1, layer %2: expert %3 is no near-tie")
                                    .arg(t)
                                    .arg(q.layer)
                                    .arg(e)));
        }
      }
    }
    qInfo("%d of %d predictions differ (near-ties); logits differ by up to %.3g", ties, compared,
          double(worst));
    if (type == "F16") QCOMPARE(worst, 0.0f);  // the tiny model's own f16 bits, re-laid out
  }

  void carries_its_tokenizer() {
    const GgufFile file(quantized(tmp_, "Q8_0"));
    const GgufValue* model = file.find("tokenizer.ggml.model");
    QVERIFY(model);
    QCOMPARE(std::get<std::string>(model->scalar), std::string("llama"));
    QCOMPARE(file.find("tokenizer.ggml.tokens")->array.size(), std::size_t(8000));
    QCOMPARE(file.find("tokenizer.ggml.scores")->array.size(), std::size_t(8000));
    QCOMPARE(file.find("tokenizer.ggml.token_type")->array.size(), std::size_t(8000));
    QCOMPARE(std::get<std::uint64_t>(file.find("tokenizer.ggml.bos_token_id")->scalar), 1u);
    QCOMPARE(std::get<bool>(file.find("tokenizer.ggml.add_bos_token")->scalar), true);
    QCOMPARE(std::get<bool>(file.find("tokenizer.ggml.add_space_prefix")->scalar), false);
    // Read back alone: the same pieces by id, and text survives encode and decode.
    // deepseekmoe-tiny's tokenizer.model is a unigram model, which llama.cpp's llama layout
    // reads as BPE by score, so its ids may segment a text differently from the original's
    // (docs/FAMILIES.md); tokenizer-llama.gguf (test_gguf_tokenizer) is the BPE case, equal.
    const auto own = load_gguf_tokenizer(file.path());
    const auto original = load_tokenizer(tiny);
    QCOMPARE(own->vocab_size(), original->vocab_size());
    for (int id = 0; id < own->vocab_size(); ++id) QCOMPARE(own->piece(id), original->piece(id));
    for (const std::string& text : texts) QCOMPARE(own->decode(own->encode(text)), text);
  }

  void never_replaces_its_input() {
    const fs::path weights = tiny / "model.safetensors";
    const auto size = fs::file_size(weights);
    QVERIFY_CONTAINS(engine_error_of([&] { check_not_overwriting(tiny, weights); }),
                     "is the input model's own file; refusing to overwrite it");
    QVERIFY_CONTAINS(engine_error_of([&] { check_not_overwriting(weights, weights); }),
                     "is the input model's own file");
    QVERIFY_CONTAINS(engine_error_of([&] { check_not_overwriting(tiny, tiny); }), "is a folder");
    QCOMPARE(fs::file_size(weights), size);
  }

  void leaves_no_partial_file() {
    const fs::path dir = fs::path(tmp_.path().toStdString()) / "missing-folder";
    const auto model = Model::load(tiny);
    QVERIFY_CONTAINS(
        engine_error_of([&] { export_gguf_model(*model, DType::q8_0, {}, dir / "x.gguf"); }),
        "x.gguf: cannot be written");
    QVERIFY(!fs::exists(dir));
    for (const auto& entry : fs::directory_iterator(tmp_.path().toStdString()))
      QVERIFY2(entry.path().string().find(".partial-") == std::string::npos, entry.path().c_str());
  }

  // The files llama.cpp's own converter wrote for the same checkpoints (docs/FAMILIES.md):
  // DeepSeekMoE from f16 weights, Mixtral from f32. Every tensor is in the export under the
  // same name and shape, the same bytes (Mixtral's matrices: the f16 of llama.cpp's f32
  // values), and every key but general.* is equal, the tokenizer's included.
  void writes_what_llama_cpp_writes_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("architecture");
    QTest::newRow("DeepSeekMoE as deepseek") << "deepseek-lcpp"
                                             << "deepseek";
    QTest::newRow("Mixtral as llama") << "mixtral-lcpp"
                                      << "llama";
    QTest::newRow("Qwen2-MoE as qwen2moe") << "qwen2moe-lcpp"
                                           << "qwen2moe";
    QTest::newRow("OLMoE as olmoe") << "olmoe-lcpp"
                                    << "olmoe";
  }
  void writes_what_llama_cpp_writes() {
    QFETCH(QString, model);
    QFETCH(QString, architecture);
    const fs::path fixtures = fs::path(MOESCOPE_FIXTURES_DIR);
    const fs::path dir = fixtures / "models" / model.toStdString();
    const auto loaded = Model::load(dir);
    const fs::path out = fs::path(tmp_.path().toStdString()) / (model.toStdString() + ".gguf");
    export_gguf_model(*loaded, DType::f16, gguf_tokenizer_metadata(dir, loaded->config().family),
                      out);
    const GgufFile ours(out);
    const GgufFile theirs(fixtures / "gguf" / (model.toStdString() + ".gguf"));
    QCOMPARE(ours.tensors().size(), theirs.tensors().size());
    for (const auto& [name, expected] : theirs.tensors()) {
      const auto found = ours.tensors().find(name);
      QVERIFY2(found != ours.tensors().end(), name.c_str());
      const TensorView& actual = found->second;
      QVERIFY2(actual.shape == expected.shape, name.c_str());
      const bool rounded = expected.dtype == DType::f32 && actual.dtype == DType::f16;
      QVERIFY2(rounded || actual.dtype == expected.dtype, name.c_str());
      for (std::int64_t i = 0; i < expected.numel(); ++i) {
        const bool same = rounded ? static_cast<const std::uint16_t*>(actual.data)[i] ==
                                        f32_to_f16(static_cast<const float*>(expected.data)[i])
                                  : std::memcmp(static_cast<const std::uint8_t*>(actual.data) +
                                                    i * storage_bytes(actual.dtype, 1),
                                                static_cast<const std::uint8_t*>(expected.data) +
                                                    i * storage_bytes(expected.dtype, 1),
                                                std::size_t(storage_bytes(actual.dtype, 1))) == 0;
        if (!same) QFAIL(qPrintable(QStringLiteral("%1[%2]").arg(name.c_str()).arg(i)));
      }
    }
    for (const auto& [key, value] : theirs.metadata()) {
      if (key.starts_with("general.")) continue;
      const GgufValue* mine = ours.find(key);
      QVERIFY2(mine && mine->scalar == value.scalar && mine->array == value.array, key.c_str());
    }
    QCOMPARE(std::get<std::string>(ours.find("general.architecture")->scalar),
             architecture.toStdString());
  }

  void refuses_what_the_layout_cannot_hold() {
    const fs::path models = fs::path(MOESCOPE_FIXTURES_DIR) / "models";
    const fs::path out = fs::path(tmp_.path().toStdString()) / "refused.gguf";
    const auto v3 = Model::load(models / "deepseekv3-t5");
    QVERIFY_CONTAINS(engine_error_of([&] { export_gguf_model(*v3, DType::q8_0, {}, out); }),
                     "model_type \"deepseek_v3\" cannot be written as GGUF (only DeepSeekMoE");
    // llama.cpp's qwen2moe has no dense layers (this one's layer 1 is, by mlp_only_layers).
    const auto qwen = Model::load(models / "qwen2moe-f32");
    QVERIFY_CONTAINS(engine_error_of([&] { export_gguf_model(*qwen, DType::q8_0, {}, out); }),
                     "its dense layers have no key in llama.cpp's qwen2moe");
    QVERIFY(!fs::exists(out));
    const auto model = Model::load(tiny);
    QVERIFY_CONTAINS(engine_error_of([&] { export_gguf_model(*model, DType::q4_k, {}, out); }),
                     "Q4_K are not supported");
  }
};

QTEST_GUILESS_MAIN(TestGgufExport)
#include "test_gguf_export.moc"
