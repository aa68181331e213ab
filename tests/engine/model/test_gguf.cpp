// GGUF files: one written by gguf-py's GGUFWriter read back completely
// (tests/fixtures/gguf/, tools/reference/make_gguf_fixtures.py), and every malformed
// field refused with a message that names the file and the field or tensor.
#include <sys/stat.h>

#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <vector>

#include "model/gguf.h"
#include "support/expect_error.h"

using namespace moescope;
namespace fs = std::filesystem;

namespace {

// GGUF bytes, field by field, little-endian.
struct Bytes {
  QByteArray b;
  template <typename T>
  Bytes& put(T v) {
    b.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Bytes& str(const QByteArray& s) {
    put(std::uint64_t(s.size()));
    b.append(s);
    return *this;
  }
  Bytes& header(std::uint64_t tensors, std::uint64_t kvs, std::uint32_t version = 3) {
    b.append("GGUF");
    return put(version).put(tensors).put(kvs);
  }
  Bytes& kv_u32(const QByteArray& key, std::uint32_t v) { return str(key).put(4u).put(v); }
  // One tensor info: name, dims (innermost first), ggml type, offset.
  Bytes& tensor(const QByteArray& name, std::vector<std::uint64_t> ne, std::uint32_t type,
                std::uint64_t offset) {
    str(name).put(std::uint32_t(ne.size()));
    for (auto n : ne) put(n);
    return put(type).put(offset);
  }
  Bytes& pad_to(int alignment) {
    while (b.size() % alignment) b.append('\0');
    return *this;
  }
  Bytes& zeros(int n) {
    b.append(QByteArray(n, '\0'));
    return *this;
  }
};

// A valid file: one F32 tensor "w" [2, 4] (ne 4, 2) at offset 0, 32 bytes of data.
QByteArray valid_file() {
  return Bytes()
      .header(1, 1)
      .kv_u32("general.alignment", 32)
      .tensor("w", {4, 2}, 0, 0)
      .pad_to(32)
      .zeros(32)
      .b;
}

}  // namespace

class TestGguf : public QObject {
  Q_OBJECT

  std::unique_ptr<QTemporaryDir> tmp_;
  fs::path path(const char* name) const { return fs::path(tmp_->path().toStdString()) / name; }
  void write(const fs::path& p, const QByteArray& bytes) {
    QFile f(QString::fromStdString(p.string()));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes);
  }

 private slots:
  void init() { tmp_ = std::make_unique<QTemporaryDir>(); }

  void reads_a_file_gguf_py_wrote() {
    const GgufFile file(MOESCOPE_FIXTURES_DIR "/gguf/types.gguf");
    QCOMPARE(file.version(), 3u);
    const auto scalar = [&](const char* key) { return file.find(key)->scalar; };
    QCOMPARE(std::get<std::uint64_t>(scalar("test.u8")), 200u);
    QCOMPARE(std::get<std::int64_t>(scalar("test.i8")), -100);
    QCOMPARE(std::get<std::uint64_t>(scalar("test.u16")), 60000u);
    QCOMPARE(std::get<std::int64_t>(scalar("test.i16")), -30000);
    QCOMPARE(std::get<std::uint64_t>(scalar("test.u32")), 4000000000u);
    QCOMPARE(std::get<std::int64_t>(scalar("test.i32")), -2000000000);
    QCOMPARE(std::get<double>(scalar("test.f32")), 0.25);
    QCOMPARE(std::get<bool>(scalar("test.bool")), true);
    QCOMPARE(std::get<std::string>(scalar("test.string")), std::string("h\xc3\xa9llo"));
    QCOMPARE(std::get<std::uint64_t>(scalar("test.u64")), (std::uint64_t(1) << 63) + 5);
    QCOMPARE(std::get<std::int64_t>(scalar("test.i64")), -(std::int64_t(1) << 62));
    QCOMPARE(std::get<double>(scalar("test.f64")), 1e100);
    QCOMPARE(file.find("test.u32")->type, GgufType::uint32);
    const GgufValue& ints = *file.find("test.ints");
    QCOMPARE(ints.type, GgufType::array);
    QCOMPARE(ints.element_type, GgufType::int32);
    QCOMPARE(ints.array,
             (std::vector<GgufScalar>{std::int64_t(1), std::int64_t(-2), std::int64_t(3)}));
    QCOMPARE(file.find("test.strings")->array,
             (std::vector<GgufScalar>{std::string("a"), std::string(), std::string("ccc")}));
    QCOMPARE(std::get<std::string>(scalar("general.architecture")), std::string("test"));
    QVERIFY(!file.find("absent"));

    QFile values_file(MOESCOPE_FIXTURES_DIR "/gguf/types.values.f32");
    QVERIFY(values_file.open(QIODevice::ReadOnly));
    const QByteArray values = values_file.readAll();
    std::size_t at = 0;
    for (const auto& [name, dtype, shape] :
         {std::tuple{"f32", DType::f32, std::vector<std::int64_t>{2, 3}},
          {"f16", DType::f16, {2, 3}},
          {"bf16", DType::bf16, {2, 3}},
          {"q8_0", DType::q8_0, {2, 64}},
          {"q4_0", DType::q4_0, {2, 64}},
          {"q4_k", DType::q4_k, {1, 1024}},
          {"q6_k", DType::q6_k, {1, 1024}}}) {
      const TensorView& t = file.tensors().at(name);
      QCOMPARE(t.dtype, dtype);
      QCOMPARE(t.shape, shape);
      const std::vector<float> got = to_f32(t);
      std::vector<float> expected(got.size());
      std::memcpy(expected.data(), values.constData() + at, expected.size() * sizeof(float));
      at += expected.size() * sizeof(float);
      QCOMPARE(got, expected);
      QCOMPARE(reinterpret_cast<std::uintptr_t>(t.data) % 64, 0u);  // general.alignment
    }
    QCOMPARE(at, std::size_t(values.size()));
    QCOMPARE(file.tensors().size(), std::size_t(7));
    QCOMPARE(file.mapped_bytes(),
             std::size_t(fs::file_size(MOESCOPE_FIXTURES_DIR "/gguf/types.gguf")));
  }

  void reads_the_valid_file_built_here() {
    write(path("ok.gguf"), valid_file());
    const GgufFile file(path("ok.gguf"));
    QCOMPARE(file.tensors().at("w").shape, (std::vector<std::int64_t>{2, 4}));
  }

  void refuses_malformed_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");
    const QByteArray ok = valid_file();
    QTest::newRow("empty") << QByteArray() << "not a GGUF file";
    QTest::newRow("magic") << QByteArray("GGML").append(ok.mid(4)) << "not a GGUF file";
    QTest::newRow("version 1") << Bytes().header(0, 0, 1).b << "GGUF version 1 is not supported";
    QTest::newRow("big-endian version")
        << Bytes().header(0, 0, 0x03000000).b << "GGUF version 50331648 is not supported";
    QTest::newRow("truncated header") << ok.left(10) << "tensor count: the file ends";
    QTest::newRow("tensor count") << Bytes().header(1u << 30, 0).b
                                  << "tensor count 1073741824 is more than the rest";
    QTest::newRow("metadata count") << Bytes().header(0, ~0ull).b << "metadata count";
    QTest::newRow("key length") << Bytes().header(0, 1).put(std::uint64_t(1) << 40).zeros(16).b
                                << "metadata key 0: length 1099511627776 runs past the end";
    QTest::newRow("value type") << Bytes().header(0, 1).str("k").put(13u).zeros(8).b
                                << "metadata 'k': unknown value type 13";
    QTest::newRow("nested array")
        << Bytes().header(0, 1).str("k").put(9u).put(9u).put(1ull).zeros(16).b
        << "metadata 'k': an array of arrays is not supported";
    QTest::newRow("array count")
        << Bytes().header(0, 1).str("k").put(9u).put(8u).put(1ull << 50).zeros(16).b
        << "metadata 'k' element count 1125899906842624 is more than the rest";
    QTest::newRow("string value past end") << Bytes().header(0, 1).str("k").put(8u).put(100ull).b
                                           << "metadata 'k': length 100 runs past the end";
    QTest::newRow("bool byte") << Bytes().header(0, 1).str("k").put(7u).put(std::uint8_t(2)).b
                               << "metadata 'k': boolean byte 2";
    QTest::newRow("key twice") << Bytes().header(0, 2).kv_u32("k", 1).kv_u32("k", 2).b
                               << "metadata 'k' is given twice";
    QTest::newRow("alignment type")
        << Bytes().header(0, 1).str("general.alignment").put(10u).put(32ull).b
        << "'general.alignment' must be a uint32, not uint64";
    QTest::newRow("alignment 48") << Bytes().header(0, 1).kv_u32("general.alignment", 48).b
                                  << "'general.alignment' 48 is not a power of two";
    QTest::newRow("5 dims") << Bytes().header(1, 0).tensor("w", {1, 1, 1, 1, 1}, 0, 0).zeros(64).b
                            << "tensor 'w': 5 dimensions (1 to 4 supported)";
    QTest::newRow("0 dims") << Bytes().header(1, 0).tensor("w", {}, 0, 0).zeros(64).b
                            << "tensor 'w': 0 dimensions";
    QTest::newRow("dim 0") << Bytes().header(1, 0).tensor("w", {4, 0}, 0, 0).zeros(64).b
                           << "tensor 'w': dimension 1 is 0";
    QTest::newRow("numel overflow")
        << Bytes().header(1, 0).tensor("w", {1ull << 32, 1ull << 32}, 0, 0).zeros(64).b
        << "tensor 'w': the element count overflows";
    QTest::newRow("bytes overflow")
        << Bytes().header(1, 0).tensor("w", {1ull << 31, 1ull << 31}, 0, 0).zeros(64).b
        << "tensor 'w': the byte size overflows";
    QTest::newRow("unsupported type") << Bytes().header(1, 0).tensor("w", {256}, 13, 0).zeros(64).b
                                      << "tensor 'w': ggml type Q5_K is not supported (supported: "
                                         "F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, BF16)";
    QTest::newRow("unknown type") << Bytes().header(1, 0).tensor("w", {4}, 99, 0).zeros(64).b
                                  << "tensor 'w': unknown ggml type 99";
    QTest::newRow("partial block")
        << Bytes().header(1, 0).tensor("w", {48, 2}, 8, 0).zeros(64).b
        << "tensor 'w': rows of 48 elements are not whole Q8_0 blocks of 32";
    QTest::newRow("tensor twice") << Bytes()
                                         .header(2, 0)
                                         .tensor("w", {4}, 0, 0)
                                         .tensor("w", {4}, 0, 32)
                                         .pad_to(32)
                                         .zeros(64)
                                         .b
                                  << "tensor 'w' is given twice";
    QTest::newRow("unaligned offset")
        << Bytes().header(1, 0).tensor("w", {4}, 0, 8).pad_to(32).zeros(64).b
        << "tensor 'w' data offset 8 is not a multiple of the alignment 32";
    QTest::newRow("past the end")
        << Bytes().header(1, 0).tensor("w", {4, 4}, 0, 0).pad_to(32).zeros(32).b
        << "tensor 'w' data offset 0: its 64 bytes run past the data section (32 bytes)";
    QTest::newRow("no data section") << Bytes().header(1, 0).tensor("w", {4}, 0, 0).b
                                     << "the data section starts at byte 64, past the end";
    QTest::newRow("overlap") << Bytes()
                                    .header(2, 0)
                                    .tensor("a", {16}, 0, 0)
                                    .tensor("b", {4}, 0, 32)
                                    .pad_to(32)
                                    .zeros(64)
                                    .b
                             << "tensor 'b' data overlaps tensor 'a'";
    QTest::newRow("unaligned for F32")
        << Bytes().header(1, 1).kv_u32("general.alignment", 1).tensor("w", {4}, 0, 1).zeros(64).b
        << "is not aligned for F32";
  }
  void refuses_malformed() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    write(path("bad.gguf"), bytes);
    const std::string error = engine_error_of([&] { GgufFile{path("bad.gguf")}; });
    QVERIFY_CONTAINS(error, QString::fromStdString(path("bad.gguf").string() + ": "));
    QVERIFY_CONTAINS(error, message);
  }

  void refuses_a_fifo_without_blocking() {
    QCOMPARE(::mkfifo(path("fifo.gguf").c_str(), 0600), 0);
    QVERIFY_CONTAINS(engine_error_of([&] { GgufFile{path("fifo.gguf")}; }), "not a regular file");
  }
};

QTEST_GUILESS_MAIN(TestGguf)
#include "test_gguf.moc"
