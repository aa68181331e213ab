// The SentencePiece tokenizer of the fixture model: encodings against
// spm_encode, round trips, streaming without broken UTF-8, and load errors.
//
// The fixture model (tools/reference/make_fixtures.sh) uses the identity
// normaliser, add_dummy_prefix, remove_extra_whitespaces=false and byte
// fallback, so every string round-trips except one that contains the
// whitespace meta symbol U+2581 itself, which decodes to a space.
#include <QFile>
#include <QList>
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "support/expect_error.h"
#include "support/utf8_check.h"
#include "tokenizer/tokenizer.h"

using namespace moescope;
namespace fs = std::filesystem;
using nlohmann::json;

Q_DECLARE_METATYPE(std::string)

namespace {

const fs::path fixtures = MOESCOPE_FIXTURES_DIR;
const fs::path model_dir = fixtures / "models" / "dense-lead-f32";

QList<int> qlist(const std::vector<int>& v) {
  return QList<int>(v.begin(), v.end());
}

json read_cases() {
  std::ifstream in(fixtures / "tokenizer" / "cases.json");
  return json::parse(in);
}

// Every prefix of `ids` streamed: the pushes, each valid UTF-8, then the flush.
struct Streamed {
  std::vector<std::string> pushes;
  std::string flushed;
  std::string joined() const {
    std::string all;
    for (const auto& p : pushes) all += p;
    return all + flushed;
  }
};

Streamed stream(const Tokenizer& tokenizer, const std::vector<int>& ids) {
  TextStream s(tokenizer);
  Streamed out;
  for (int id : ids) out.pushes.push_back(s.push(id));
  out.flushed = s.flush();
  return out;
}

}  // namespace

class TestTokenizer : public QObject {
  Q_OBJECT

  std::unique_ptr<Tokenizer> tok_;

 private slots:
  void initTestCase() {
    tok_ = load_tokenizer(model_dir);
    QVERIFY(tok_);
  }

  // What reaches a terminal is well-formed: each ill-formed sequence becomes one U+FFFD
  // per maximal subpart (Unicode's recommended practice, as ICU's U8_NEXT does).
  void replaces_ill_formed_utf8_data() {
    QTest::addColumn<std::string>("text");
    QTest::addColumn<std::string>("expected");
    QTest::newRow("ascii") << std::string("plain") << std::string("plain");
    QTest::newRow("whole characters")
        << std::string("\u00e9\u4e2d\U0001F600") << std::string("\u00e9\u4e2d\U0001F600");
    QTest::newRow("lone continuation") << std::string("a\x80z") << std::string("a\uFFFDz");
    QTest::newRow("truncated at the end") << std::string("x\xE6\x97") << std::string("x\uFFFD");
    QTest::newRow("truncated in the middle") << std::string("\xE6\x97x") << std::string("\uFFFDx");
    QTest::newRow("overlong") << std::string("\xC0\xAF") << std::string("\uFFFD\uFFFD");
    QTest::newRow("surrogate") << std::string("\xED\xA0\x80") << std::string("\uFFFD\uFFFD\uFFFD");
    QTest::newRow("beyond U+10FFFF")
        << std::string("\xF4\x90\x80\x80") << std::string("\uFFFD\uFFFD\uFFFD\uFFFD");
    QTest::newRow("empty") << std::string() << std::string();
  }
  void replaces_ill_formed_utf8() {
    QFETCH(std::string, text);
    QFETCH(std::string, expected);
    const std::string out = moescope::valid_utf8(text);
    QCOMPARE(out, expected);
    QVERIFY(::valid_utf8(out));
  }

  void special_ids() {
    QCOMPARE(tok_->vocab_size(), 512);
    QCOMPARE(tok_->bos_id(), std::optional<int>(1));
    QCOMPARE(tok_->eos_id(), std::optional<int>(2));
    QCOMPARE(tok_->piece(1), std::string("<s>"));
    QCOMPARE(tok_->piece(2), std::string("</s>"));
    QCOMPARE(tok_->encode("").size(), std::size_t(1));  // BOS alone
  }

  // Every case of cases.json: [BOS] + spm_encode's ids, with its pieces.
  void encode_matches_spm_encode_data() {
    QTest::addColumn<std::string>("text");
    QTest::addColumn<QList<int>>("ids");
    QTest::addColumn<QStringList>("pieces");
    const json cases = read_cases();
    QVERIFY(cases.size() >= 10);
    for (const json& c : cases) {
      QStringList pieces;
      for (const json& p : c.at("pieces")) pieces << QString::fromStdString(p.get<std::string>());
      const auto text = c.at("text").get<std::string>();
      QTest::newRow(text.c_str()) << text << qlist(c.at("ids").get<std::vector<int>>()) << pieces;
    }
  }
  void encode_matches_spm_encode() {
    QFETCH(std::string, text);
    QFETCH(QList<int>, ids);
    QFETCH(QStringList, pieces);
    const std::vector<int> encoded = tok_->encode(text);
    QCOMPARE(qlist(encoded), QList<int>{1} + ids);
    for (qsizetype i = 0; i < ids.size(); ++i)
      QCOMPARE(QString::fromStdString(tok_->piece(ids[i])), pieces[i]);
    QCOMPARE(tok_->decode(encoded), text);
  }

  void round_trip_data() {
    QTest::addColumn<std::string>("text");
    QTest::newRow("ascii") << std::string("The quick brown fox jumps over the lazy dog.");
    QTest::newRow("accents") << std::string("naïve café, señor, Ærøskøbing, Dvořák");
    QTest::newRow("emoji") << std::string("🙂👍🏽 ok 🚀");
    QTest::newRow("cjk") << std::string("漢字と日本語、한국어");
    QTest::newRow("one leading space") << std::string(" x");
    QTest::newRow("leading and trailing spaces") << std::string("   spaced out   ");
    QTest::newRow("only spaces") << std::string("  ");
    QTest::newRow("newlines and tabs") << std::string("line one\nline two\n\tindented\r\n");
    QTest::newRow("ligature and fullwidth (no NFKC)") << std::string("ﬁne Ｆｕｌｌ");
    QTest::newRow("control byte") << std::string("a\x01z");
    QTest::newRow("empty") << std::string();
  }
  void round_trip() {
    QFETCH(std::string, text);
    const auto ids = tok_->encode(text);
    QCOMPARE(ids.front(), 1);
    QCOMPARE(tok_->decode(ids), text);
    for (int id : ids) QVERIFY(id >= 0 && id < tok_->vocab_size());
  }

  // The one documented exception: U+2581 is SentencePiece's whitespace symbol,
  // so a literal one in the text comes back as a space.
  void whitespace_symbol_decodes_as_space() {
    const std::string text = "a\u2581b";
    QCOMPARE(tok_->decode(tok_->encode(text)), std::string("a b"));
    QCOMPARE(tok_->encode(text), tok_->encode("a b"));
  }

  // Ids streamed one by one give decode(all ids) in valid UTF-8 pieces.
  void text_stream_matches_decode_data() { round_trip_data(); }
  void text_stream_matches_decode() {
    QFETCH(std::string, text);
    const auto ids = tok_->encode(text);
    const Streamed s = stream(*tok_, ids);
    QCOMPARE(s.joined(), tok_->decode(ids));
    for (const auto& p : s.pushes) QVERIFY2(valid_utf8(p), p.c_str());
    QCOMPARE(s.flushed, std::string());  // nothing held back at the end of whole characters
  }

  // Characters outside the 512-piece vocabulary become byte pieces: the stream
  // holds the first bytes back and returns the whole character with the last.
  void split_character_arrives_whole_data() {
    QTest::addColumn<std::string>("text");
    QTest::addColumn<std::string>("character");
    QTest::addColumn<int>("byte_pieces");
    QTest::newRow("emoji, 4 bytes") << std::string("emoji 😀 and") << std::string("😀") << 4;
    QTest::newRow("CJK, 3 bytes") << std::string("CJK 漢") << std::string("漢") << 3;
    QTest::newRow("CJK, two characters") << std::string("字字") << std::string("字") << 6;
  }
  void split_character_arrives_whole() {
    QFETCH(std::string, text);
    QFETCH(std::string, character);
    QFETCH(int, byte_pieces);
    const auto ids = tok_->encode(text);
    int bytes = 0;
    for (int id : ids) bytes += tok_->piece(id).starts_with("<0x");
    QCOMPARE(bytes, byte_pieces);  // the character really is split over byte pieces

    const Streamed s = stream(*tok_, ids);
    int whole = 0;
    for (const auto& p : s.pushes) {
      QVERIFY2(valid_utf8(p), qPrintable(QByteArray::fromStdString(p).toHex()));
      for (std::size_t at = p.find(character); at != p.npos; at = p.find(character, at + 1))
        ++whole;
    }
    QCOMPARE(whole, int(byte_pieces / character.size()));
    QCOMPARE(s.joined(), text);
    // The pushes of the first bytes return nothing.
    int empty = 0;
    for (const auto& p : s.pushes) empty += p.empty();
    QVERIFY(empty >= int(character.size()) - 1);
  }

  // An id sequence ending inside a character: flush() gives up what is held.
  void flush_returns_held_bytes() {
    const auto ids = tok_->encode("ok 😀");
    const std::vector<int> cut(ids.begin(), ids.end() - 1);  // last byte piece missing
    const Streamed s = stream(*tok_, cut);
    QCOMPARE(s.joined(), tok_->decode(cut));
    QVERIFY(!s.flushed.empty());
    for (const auto& p : s.pushes) QVERIFY(valid_utf8(p));
  }

  void add_bos_token_data() {
    QTest::addColumn<QByteArray>("tokenizer_config");  // empty: no file
    QTest::addColumn<bool>("bos");
    QTest::newRow("false") << QByteArray(R"({"add_bos_token": false})") << false;
    QTest::newRow("true") << QByteArray(R"({"add_bos_token": true})") << true;
    QTest::newRow("field missing") << QByteArray(R"({"bos_token": "<s>"})") << true;
    QTest::newRow("no tokenizer_config.json") << QByteArray() << true;
  }
  void add_bos_token() {
    QFETCH(QByteArray, tokenizer_config);
    QFETCH(bool, bos);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path d = dir.path().toStdString();
    fs::copy_file(model_dir / "tokenizer.model", d / "tokenizer.model");
    if (!tokenizer_config.isEmpty()) {
      QFile f(QString::fromStdString((d / "tokenizer_config.json").string()));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(tokenizer_config);
    }
    const auto t = load_tokenizer(d);
    const std::vector<int> hello = {361, 336, 381, 268, 271, 417, 416};
    std::vector<int> expected = hello;
    if (bos) expected.insert(expected.begin(), 1);
    QCOMPARE(t->encode("Hello world"), expected);
  }

  void load_errors_data() {
    QTest::addColumn<QByteArray>("model_bytes");  // empty: no tokenizer.model
    QTest::addColumn<QString>("names");           // the file or directory the message names
    QTest::addColumn<QString>("says");
    QTest::newRow("no tokenizer.model") << QByteArray() << "dir"
                                        << "tokenizer.model";
    QTest::newRow("garbage tokenizer.model")
        << QByteArray("this is not a protobuf\x01\x02\xff", 25) << "dir/tokenizer.model"
        << "SentencePiece";
  }
  void load_errors() {
    QFETCH(QByteArray, model_bytes);
    QFETCH(QString, names);
    QFETCH(QString, says);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path d = fs::path(dir.path().toStdString()) / "some-model";
    fs::create_directory(d);
    if (!model_bytes.isEmpty()) {
      QFile f(QString::fromStdString((d / "tokenizer.model").string()));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(model_bytes);
    }
    const std::string message = engine_error_of([&] { load_tokenizer(d); });
    QVERIFY_CONTAINS(message, QString(names).replace("dir", QString::fromStdString(d.string())));
    QVERIFY_CONTAINS(message, says);
  }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
