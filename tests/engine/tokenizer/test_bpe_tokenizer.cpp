// The byte-level BPE tokenizer against Hugging Face: for each family fixture
// (tools/reference/make_bpe_fixtures.py: small retrained vocabularies with the
// real pipelines), the ids of transformers' AutoTokenizer for every case,
// byte-exact round trips, streaming without broken UTF-8, and load errors.
#include <QElapsedTimer>
#include <QFile>
#include <QList>
#include <QStringDecoder>
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "support/expect_error.h"
#include "support/sanitizer_slowdown.h"
#include "support/utf8_check.h"
#include "tokenizer/tokenizer.h"

using namespace moescope;
namespace fs = std::filesystem;
using nlohmann::json;

Q_DECLARE_METATYPE(std::string)

namespace {

const fs::path fixtures = fs::path(MOESCOPE_FIXTURES_DIR) / "tokenizers";
const char* const families[] = {"deepseek-moe-16b", "qwen1.5-moe", "olmoe"};

// `text` in Unicode normalization form C (keeping a leading byte order mark).
std::string nfc(const std::string& text) {
  QStringDecoder utf8(QStringDecoder::Utf8, QStringDecoder::Flag::ConvertInitialBom);
  const QString decoded = utf8(QByteArray::fromStdString(text));
  return decoded.normalized(QString::NormalizationForm_C).toStdString();
}

QList<int> qlist(const std::vector<int>& v) {
  return QList<int>(v.begin(), v.end());
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

// The tokenizer of each family, loaded once.
const Tokenizer& tokenizer_of(const std::string& family) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto& t = loaded[family];
  if (!t) t = load_tokenizer(fixtures / family);
  return *t;
}

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

}  // namespace

class TestBpeTokenizer : public QObject {
  Q_OBJECT

 private slots:
  void special_ids_data() {
    QTest::addColumn<std::string>("family");
    QTest::addColumn<QString>("bos");  // empty: none
    QTest::addColumn<QString>("eos");
    QTest::addColumn<bool>("adds_bos");
    QTest::newRow("deepseek") << std::string("deepseek-moe-16b") << "<｜begin▁of▁sentence｜>"
                              << "<｜end▁of▁sentence｜>" << true;
    QTest::newRow("qwen") << std::string("qwen1.5-moe") << ""
                          << "<|endoftext|>" << false;
    QTest::newRow("olmoe") << std::string("olmoe") << ""
                           << "<|endoftext|>" << false;
  }
  void special_ids() {
    QFETCH(std::string, family);
    QFETCH(QString, bos);
    QFETCH(QString, eos);
    QFETCH(bool, adds_bos);
    const Tokenizer& t = tokenizer_of(family);
    QCOMPARE(t.bos_id().has_value(), !bos.isEmpty());
    if (t.bos_id()) QCOMPARE(QString::fromStdString(t.piece(*t.bos_id())), bos);
    QVERIFY(t.eos_id());
    QCOMPARE(QString::fromStdString(t.piece(*t.eos_id())), eos);
    QCOMPARE(t.encode("").size(), std::size_t(adds_bos ? 1 : 0));
    QVERIFY(t.vocab_size() > 3000 && t.vocab_size() < 3100);
  }

  // Every case of every family's cases.json: exactly transformers' ids.
  void encode_matches_hugging_face_data() {
    QTest::addColumn<std::string>("family");
    QTest::addColumn<std::string>("text");
    QTest::addColumn<QList<int>>("ids");
    for (const char* family : families) {
      const json cases = read_json(fixtures / family / "cases.json");
      QVERIFY(cases.size() >= 500);
      int n = 0;
      for (const json& c : cases)
        QTest::addRow("%s #%d", family, n++)
            << std::string(family) << c.at("text").get<std::string>()
            << qlist(c.at("ids").get<std::vector<int>>());
    }
  }
  void encode_matches_hugging_face() {
    QFETCH(std::string, family);
    QFETCH(std::string, text);
    QFETCH(QList<int>, ids);
    const Tokenizer& t = tokenizer_of(family);
    QCOMPARE(qlist(t.encode(text)), ids);
  }

  // Pre-tokenizer and normalizer settings the families do not use (every Split
  // behavior, invert, String patterns, Digits, ByteLevel's prefix space and
  // regex, NFKC/NFD/NFKD): each on the qwen vocabulary, against tokenizers' ids.
  void other_pipeline_settings_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("spec");  // JSON
    QTest::addColumn<std::string>("text");
    QTest::addColumn<QList<int>>("ids");
    const json variants = read_json(fixtures / "qwen1.5-moe" / "variants.json");
    QVERIFY(variants.size() >= 15);
    for (const json& v : variants) {
      int n = 0;
      for (const json& c : v.at("cases"))
        QTest::addRow("%s #%d", v.at("name").get<std::string>().c_str(), n++)
            << QString::fromStdString(v.at("field").get<std::string>())
            << QString::fromStdString(v.at("spec").dump()) << c.at("text").get<std::string>()
            << qlist(c.at("ids").get<std::vector<int>>());
    }
  }
  void other_pipeline_settings() {
    QFETCH(QString, field);
    QFETCH(QString, spec);
    QFETCH(std::string, text);
    QFETCH(QList<int>, ids);
    // One tokenizer per setting, written to a directory of its own.
    static std::map<QString, std::pair<std::unique_ptr<QTemporaryDir>, std::unique_ptr<Tokenizer>>>
        loaded;
    auto& [dir, tokenizer] = loaded[field + spec];
    if (!tokenizer) {
      dir = std::make_unique<QTemporaryDir>();
      QVERIFY(dir->isValid());
      const fs::path d = dir->path().toStdString();
      json j = read_json(fixtures / "qwen1.5-moe" / "tokenizer.json");
      j[field.toStdString()] = json::parse(spec.toStdString());
      write(d / "tokenizer.json", j.dump());
      try {
        tokenizer = load_tokenizer(d);
      } catch (const EngineError& e) {
        QFAIL(e.what());
      }
    }
    QCOMPARE(qlist(tokenizer->encode(text)), ids);
  }

  // decode gives the text back byte for byte (in NFC for the NFC families), after the BOS a family
  // adds; a stream of the ids one by one yields valid UTF-8 pieces that add up to it.
  void round_trip_and_stream_data() { encode_matches_hugging_face_data(); }
  void round_trip_and_stream() {
    QFETCH(std::string, family);
    QFETCH(std::string, text);
    const Tokenizer& t = tokenizer_of(family);
    std::vector<int> ids = t.encode(text);
    if (t.bos_id() && !ids.empty() && ids.front() == *t.bos_id() && family == "deepseek-moe-16b")
      ids.erase(ids.begin());
    // The NFC families give back the text in NFC.
    const std::string expected = family == "deepseek-moe-16b" ? text : nfc(text);
    QCOMPARE(t.decode(ids), expected);
    for (int id : ids) QVERIFY(id >= 0 && id < t.vocab_size());

    TextStream stream(t);
    std::string joined;
    for (int id : ids) {
      const std::string piece = stream.push(id);
      QVERIFY2(valid_utf8(piece), qPrintable(QByteArray::fromStdString(piece).toHex()));
      joined += piece;
    }
    const std::string rest = stream.flush();
    QCOMPARE(joined + rest, expected);
    // Nothing is held back at the end of whole characters (TextStream holds a
    // trailing U+FFFD, taking it for a character still to come).
    if (valid_utf8(text) && !text.ends_with("\uFFFD")) QCOMPARE(rest, std::string());
  }

  // Bytes that are not UTF-8 are read as U+FFFD, one per ill-formed sequence.
  void invalid_utf8_reads_as_replacement_data() {
    QTest::addColumn<std::string>("text");
    QTest::addColumn<std::string>("read_as");
    QTest::newRow("lone continuation") << std::string("a\x80z") << std::string("a\uFFFDz");
    QTest::newRow("two continuations") << std::string("\x80\xBF") << std::string("\uFFFD\uFFFD");
    QTest::newRow("truncated 3-byte") << std::string("x\xE6\x97") << std::string("x\uFFFD");
    QTest::newRow("overlong") << std::string("\xC0\xAF") << std::string("\uFFFD\uFFFD");
    QTest::newRow("surrogate") << std::string("\xED\xA0\x80") << std::string("\uFFFD\uFFFD\uFFFD");
  }
  void invalid_utf8_reads_as_replacement() {
    QFETCH(std::string, text);
    QFETCH(std::string, read_as);
    const Tokenizer& t = tokenizer_of("qwen1.5-moe");
    QCOMPARE(t.encode(text), t.encode(read_as));
  }

  void pieces_are_displayable() {
    const Tokenizer& t = tokenizer_of("qwen1.5-moe");
    const auto ids = t.encode(" the\n");
    QString shown;
    for (int id : ids) shown += QString::fromStdString(t.piece(id));
    QCOMPARE(shown, QString("\u2581the<0x0A>"));
    const auto emoji = t.encode("😀");  // not in the small vocabulary: byte tokens
    QVERIFY(emoji.size() > 1);
    QVERIFY(QString::fromStdString(t.piece(emoji.front())).startsWith("<0xF0>"));
  }

  // Long runs of one character stay fast (no quadratic merge or regex).
  void long_runs_are_fast() {
    const Tokenizer& t = tokenizer_of("deepseek-moe-16b");
    QElapsedTimer timer;
    timer.start();
    for (const std::string& s : {std::string(200000, ' '), std::string(200000, 'a'),
                                 std::string(100000, '\n'), std::string(50000, '7')}) {
      const std::vector<int> ids = t.encode(s);
      QCOMPARE(t.decode(std::span(ids).subspan(1)), s);
    }
    QVERIFY2(timer.elapsed() < 5000 * sanitizer_slowdown,
             qPrintable(QString::number(timer.elapsed()) + " ms"));
  }

  // Beside a tokenizer.model, a byte-level tokenizer.json still wins; a
  // SentencePiece-style one (Mixtral: Metaspace, byte-fallback decoders) gives way.
  void which_file_is_loaded_data() {
    QTest::addColumn<bool>("byte_level_json");
    QTest::newRow("byte-level tokenizer.json and tokenizer.model") << true;
    QTest::newRow("Metaspace tokenizer.json and tokenizer.model") << false;
  }
  void which_file_is_loaded() {
    QFETCH(bool, byte_level_json);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path d = dir.path().toStdString();
    fs::copy_file(fs::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32" / "tokenizer.model",
                  d / "tokenizer.model");
    json j = read_json(fixtures / "qwen1.5-moe" / "tokenizer.json");
    if (!byte_level_json) {
      j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}};
      j["decoder"] = {
          {"type", "Sequence"},
          {"decoders", {{{"type", "ByteFallback"}}, {{"type", "Fuse"}}, {{"type", "Strip"}}}}};
    }
    write(d / "tokenizer.json", j.dump());
    const auto t = load_tokenizer(d);
    QCOMPARE(t->vocab_size(), byte_level_json ? 3003 : 512);
  }

  // Ids past the vocabulary (embedding rows a model has beyond its tokenizer)
  // decode to nothing, as in Hugging Face.
  void ids_past_the_vocabulary_decode_to_nothing() {
    const Tokenizer& t = tokenizer_of("qwen1.5-moe");
    const std::vector<int> ids = {39, t.vocab_size() + 5, 2065};
    QCOMPARE(t.decode(ids), t.decode(std::vector<int>{39, 2065}));
    QCOMPARE(t.piece(t.vocab_size() + 5), std::string());
  }

  void load_errors_data() {
    QTest::addColumn<std::string>("edit");  // which field of a good tokenizer.json to break
    QTest::addColumn<QString>("names");     // the file the message names
    QTest::addColumn<QString>("says");
    QTest::newRow("bad JSON") << std::string("bad json") << "tokenizer.json"
                              << "not valid JSON";
    QTest::newRow("no model") << std::string("no model") << "tokenizer.json"
                              << "model";
    QTest::newRow("unknown pre-tokenizer")
        << std::string("unknown pre-tokenizer") << "tokenizer.json"
        << "Whitespace";
    QTest::newRow("unknown normalizer") << std::string("unknown normalizer") << "tokenizer.json"
                                        << "Lowercase";
    QTest::newRow("merge of an unknown token") << std::string("unknown merge") << "tokenizer.json"
                                               << "merges[0]";
    QTest::newRow("broken regex") << std::string("broken regex") << "tokenizer.json"
                                  << "pre_tokenizer.pretokenizers[0].pattern";
    QTest::newRow("unknown model") << std::string("unknown model") << "tokenizer.json"
                                   << "WordPiece";
    QTest::newRow("bos not a token") << std::string("bad bos") << "tokenizer_config.json"
                                     << "bos_token";
    QTest::newRow("field of the wrong type") << std::string("wrong type") << "tokenizer.json"
                                             << "type must be string";
    QTest::newRow("unsupported decoder") << std::string("bad decoder") << "tokenizer.json"
                                         << "decoder";
  }
  void load_errors() {
    QFETCH(std::string, edit);
    QFETCH(QString, names);
    QFETCH(QString, says);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path d = fs::path(dir.path().toStdString()) / "some-model";
    fs::create_directory(d);
    const fs::path source = fixtures / "qwen1.5-moe";
    json j = read_json(source / "tokenizer.json");
    json config = read_json(source / "tokenizer_config.json");
    std::string text;
    if (edit == "no model") j.erase("model");
    if (edit == "unknown pre-tokenizer")
      j["pre_tokenizer"]["pretokenizers"][1] = {{"type", "Whitespace"}};
    if (edit == "unknown normalizer") j["normalizer"] = {{"type", "Lowercase"}};
    if (edit == "unknown merge") j["model"]["merges"][0] = "Ġ nosuchtoken";
    if (edit == "broken regex")
      j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(\\p{L}";
    if (edit == "unknown model") j["model"]["type"] = "WordPiece";
    if (edit == "bad bos") config["bos_token"] = "<nope>";
    if (edit == "wrong type") j["post_processor"] = {{"type", 5}};
    if (edit == "bad decoder") j["decoder"] = {{"type", "WordPiece"}};
    write(d / "tokenizer.json", edit == "bad json" ? std::string("{\"model\": [") : j.dump());
    write(d / "tokenizer_config.json", config.dump());
    const std::string message = engine_error_of([&] { load_tokenizer(d); });
    QVERIFY_CONTAINS(message, QString::fromStdString((d / names.toStdString()).string()));
    QVERIFY_CONTAINS(message, says);
  }
};

QTEST_GUILESS_MAIN(TestBpeTokenizer)
#include "test_bpe_tokenizer.moc"
