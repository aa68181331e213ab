// The tokenizers GGUF files carry (tokenizer.ggml.* metadata, written by gguf-py from
// the bundled tokenizers: tools/reference/make_gguf_tokenizer_fixtures.py): on every
// text of each family's cases.json exactly transformers' ids, and the same decode and
// special-token handling as the tokenizer.json they were written from. Refusals name
// the file and the key.
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json.h"
#include "support/expect_error.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/gguf_tokenizer.h"
#include "tokenizer/tokenizer.h"

using namespace moescope;
namespace fs = std::filesystem;

namespace {

const fs::path fixtures = fs::path(MOESCOPE_FIXTURES_DIR);

// llama.cpp's pre-tokenizer name -> the bundled tokenizer it was written from.
const std::pair<const char*, const char*> families[] = {
    {"deepseek-llm", "deepseek-moe-16b"}, {"qwen2", "qwen1.5-moe"}, {"olmo", "olmoe"}};

fs::path gguf_of(const std::string& pre) {
  return fixtures / "gguf" / ("tokenizer-" + pre + ".gguf");
}

}  // namespace

class TestGgufTokenizer : public QObject {
  Q_OBJECT

 private slots:
  void matches_the_original_tokenizer_data() {
    QTest::addColumn<QString>("pre");
    QTest::addColumn<QString>("dir");
    for (const auto& [pre, dir] : families) QTest::newRow(pre) << QString(pre) << QString(dir);
  }
  void matches_the_original_tokenizer() {
    QFETCH(QString, pre);
    QFETCH(QString, dir);
    const fs::path folder = fixtures / "tokenizers" / dir.toStdString();
    const auto original = load_bpe_tokenizer(folder);
    const auto gguf = load_tokenizer(gguf_of(pre.toStdString()));  // no tokenizer beside it
    QCOMPARE(gguf->vocab_size(), original->vocab_size());
    QCOMPARE(gguf->bos_id(), original->bos_id());
    QCOMPARE(gguf->eos_id(), original->eos_id());
    const nlohmann::json cases = read_json_file(folder / "cases.json");
    QVERIFY(cases.size() >= 500);
    for (const auto& c : cases) {
      const std::string text = c.at("text").get<std::string>();
      const std::vector<int> ids = gguf->encode(text);
      QCOMPARE(ids, c.at("ids").get<std::vector<int>>());  // transformers' ids
      QCOMPARE(gguf->encode_without_special(text), original->encode_without_special(text));
      QCOMPARE(gguf->decode(ids), original->decode(ids));
    }
    for (int id = 0; id < original->vocab_size(); ++id)
      QCOMPARE(gguf->piece(id), original->piece(id));
  }

  // Tokenizer files beside the .gguf win over its metadata (as the original checkpoint's).
  void files_beside_the_gguf_come_first() {
    QTemporaryDir tmp;
    const fs::path dir = tmp.path().toStdString();
    const fs::path deepseek = fixtures / "tokenizers" / "deepseek-moe-16b";
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
      fs::copy_file(deepseek / name, dir / name);
    fs::copy_file(gguf_of("olmo"), dir / "model.gguf");
    const std::string text = "Hello world";
    QCOMPARE(load_tokenizer(dir / "model.gguf")->encode(text),
             load_bpe_tokenizer(deepseek)->encode(text));
    QVERIFY(load_tokenizer(dir / "model.gguf")->encode(text) !=
            load_gguf_tokenizer(dir / "model.gguf")->encode(text));
  }

  // tokenizer.chat_template: tokenizer_config.json's chat_template, where it has one.
  void chat_template_is_the_original() {
    int with_template = 0;
    for (const auto& [pre, dir] : families) {
      const nlohmann::json config =
          read_json_file(fixtures / "tokenizers" / dir / "tokenizer_config.json");
      const auto source = read_gguf_chat_template(gguf_of(pre));
      QCOMPARE(source.has_value(), config.contains("chat_template"));
      if (source) QCOMPARE(*source, config["chat_template"].get<std::string>());
      with_template += source.has_value();
    }
    QVERIFY(with_template >= 2);
  }

  void unmapped_pre_tokenizer_is_refused_by_name() {
    const fs::path file = gguf_of("unknown-pre");
    const std::string message = engine_error_of([&] { load_gguf_tokenizer(file); });
    QVERIFY_CONTAINS(message, QString::fromStdString(file.string()));
    QVERIFY_CONTAINS(message, "'tokenizer.ggml.pre'");
    QVERIFY_CONTAINS(message, "\"falcon\"");
  }

  // A SentencePiece vocabulary (llama.cpp's `llama`: pieces, scores, types, byte fallback)
  // written by gguf-py from tests/fixtures/tokenizer/tokenizer.model: on every text of its
  // cases.json (spm_encode's ids) the same ids, BOS first, and the same decode as the
  // original tokenizer.model.
  void llama_vocabulary_matches_the_sentencepiece_model() {
    const auto gguf = load_gguf_tokenizer(fixtures / "gguf" / "tokenizer-llama.gguf");
    const auto original = load_tokenizer(fixtures / "tokenizer");
    QCOMPARE(gguf->vocab_size(), original->vocab_size());
    QCOMPARE(gguf->bos_id(), original->bos_id());
    QCOMPARE(gguf->eos_id(), original->eos_id());
    const nlohmann::json cases = read_json_file(fixtures / "tokenizer" / "cases.json");
    QVERIFY(cases.size() >= 10);
    for (const nlohmann::json& c : cases) {
      const std::string text = c.at("text").get<std::string>();
      std::vector<int> expected = {*original->bos_id()};
      for (const nlohmann::json& id : c.at("ids")) expected.push_back(id.get<int>());
      const std::vector<int> ids = gguf->encode(text);
      QVERIFY2(ids == expected, text.c_str());
      QCOMPARE(ids, original->encode(text));
      QCOMPARE(gguf->decode(ids), original->decode(ids));
      for (const int id : ids) QCOMPARE(gguf->piece(id), original->piece(id));
    }
  }

  // A GGUF without tokenizer metadata and without tokenizer files beside it.
  void missing_vocabulary_names_the_key() {
    const fs::path file = fixtures / "gguf" / "nodense-f16.f16.gguf";
    const std::string message = engine_error_of([&] { load_tokenizer(file); });
    QVERIFY_CONTAINS(message, QString::fromStdString(file.string()));
    QVERIFY_CONTAINS(message, "'tokenizer.ggml.model' is missing");
  }
};

QTEST_APPLESS_MAIN(TestGgufTokenizer)
#include "test_gguf_tokenizer.moc"
