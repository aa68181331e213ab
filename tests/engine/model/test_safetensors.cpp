// Safetensors files and model directories: values read back through the map, sharded
// directories, and one rejection per kind of malformed file or directory.
#include <sys/stat.h>

#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <memory>

#include "model/safetensors.h"
#include "support/expect_error.h"

using namespace moescope;
namespace fs = std::filesystem;

namespace {

// The 8-byte little-endian header length, then `header`, then `data`.
QByteArray safetensors_bytes(const QByteArray& header, const QByteArray& data) {
  QByteArray bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = char((quint64(header.size()) >> (8 * i)) & 0xff);
  return bytes + header + data;
}

void write_file(const fs::path& path, const QByteArray& bytes) {
  QFile file(QString::fromStdString(path.string()));
  QVERIFY(file.open(QIODevice::WriteOnly));
  QCOMPARE(file.write(bytes), bytes.size());
}

void write_safetensors(const fs::path& path, const QByteArray& header, qsizetype data_size) {
  write_file(path, safetensors_bytes(header, QByteArray(data_size, '\0')));
}

// A one-tensor F32 file holding `name`, shape [n].
void write_f32_tensor(const fs::path& path, const QByteArray& name, int n) {
  write_safetensors(path,
                    "{\"" + name + "\": {\"dtype\": \"F32\", \"shape\": [" + QByteArray::number(n) +
                        "], \"data_offsets\": [0, " + QByteArray::number(4 * n) + "]}}",
                    4 * n);
}

template <class T>
QByteArray raw(std::initializer_list<T> values) {
  return QByteArray(reinterpret_cast<const char*>(std::data(values)),
                    qsizetype(values.size() * sizeof(T)));
}

template <class T>
T element(const TensorView& view, int i) {
  T value;
  std::memcpy(&value, static_cast<const char*>(view.data) + i * sizeof(T), sizeof value);
  return value;
}

}  // namespace

class TestSafetensors : public QObject {
  Q_OBJECT

  std::unique_ptr<QTemporaryDir> tmp_;  // a fresh directory for every test and row
  fs::path dir() const { return tmp_->path().toStdString(); }
  fs::path path(const char* name) const { return dir() / name; }

 private slots:
  void init() {
    tmp_ = std::make_unique<QTemporaryDir>();
    QVERIFY(tmp_->isValid());
  }
  void cleanup() { tmp_.reset(); }

  void reads_values_of_every_dtype() {
    // Little-endian values: f32 [1, -2.5, 65504]; f16 [1, -2.5] of shape [1, 2]; bf16 [1, -2.5].
    const QByteArray data = raw<float>({1.0f, -2.5f, 65504.0f}) + raw<quint16>({0x3c00, 0xc100}) +
                            raw<quint16>({0x3f80, 0xc020});
    write_file(path("model.safetensors"), safetensors_bytes(R"({"__metadata__": {"format": "pt"},
                   "a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
                   "b": {"dtype": "F16", "shape": [1, 2], "data_offsets": [12, 16]},
                   "c": {"dtype": "BF16", "shape": [2], "data_offsets": [16, 20]},
                   "empty": {"dtype": "F32", "shape": [0, 4], "data_offsets": [20, 20]}})",
                                                            data));
    const SafetensorsFile file(path("model.safetensors"));
    QCOMPARE(file.tensors().size(), std::size_t(4));
    QCOMPARE(file.mapped_bytes(), std::size_t(fs::file_size(path("model.safetensors"))));

    const TensorView& a = file.tensors().at("a");
    QCOMPARE(a.dtype, DType::f32);
    QCOMPARE(shape_string(a.shape), "[3]");
    QCOMPARE(element<float>(a, 0), 1.0f);
    QCOMPARE(element<float>(a, 1), -2.5f);
    QCOMPARE(element<float>(a, 2), 65504.0f);

    const TensorView& b = file.tensors().at("b");
    QCOMPARE(b.dtype, DType::f16);
    QCOMPARE(shape_string(b.shape), "[1, 2]");
    QCOMPARE(f16_to_f32(element<quint16>(b, 0)), 1.0f);
    QCOMPARE(f16_to_f32(element<quint16>(b, 1)), -2.5f);

    const TensorView& c = file.tensors().at("c");
    QCOMPARE(c.dtype, DType::bf16);
    QCOMPARE(bf16_to_f32(element<quint16>(c, 0)), 1.0f);
    QCOMPARE(bf16_to_f32(element<quint16>(c, 1)), -2.5f);

    const TensorView& empty = file.tensors().at("empty");
    QCOMPARE(empty.numel(), 0);
    QCOMPARE(empty.name, "empty");
  }

  // Header JSON plus a data section of `data_size` zero bytes.
  void rejects_malformed_headers_data() {
    QTest::addColumn<QByteArray>("header");
    QTest::addColumn<int>("data_size");
    QTest::addColumn<QString>("expected");
    const QByteArray f32_4 = R"("dtype": "F32", "shape": [4])";
    QTest::newRow("not JSON") << QByteArray(R"({"x": )") << 0 << "header: not valid JSON";
    QTest::newRow("nested 100 000 deep")
        << QByteArray(R"({"x": )") + QByteArray(100000, '[') + QByteArray(100000, ']') + "}" << 0
        << "header: nested deeper than 128 levels";
    QTest::newRow("not an object") << QByteArray("[1, 2]") << 0 << "header is not a JSON object";
    QTest::newRow("duplicate tensor")
        << "{\"x\": {" + f32_4 + R"(, "data_offsets": [0, 16]}, "x": {)" + f32_4 +
               R"(, "data_offsets": [16, 32]}})"
        << 32 << "header names tensor 'x' twice";
    QTest::newRow("entry not an object")
        << QByteArray(R"({"x": 3})") << 0 << "tensor 'x': entry is not an object";
    QTest::newRow("missing dtype") << QByteArray(R"({"x": {"shape": [1], "data_offsets": [0, 4]}})")
                                   << 4 << "tensor 'x': missing \"dtype\"";
    QTest::newRow("dtype not a string")
        << QByteArray(R"({"x": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})") << 4
        << "tensor 'x': \"dtype\" must be a string";
    QTest::newRow("unsupported dtype")
        << QByteArray(R"({"x": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})") << 8
        << "tensor 'x': unsupported dtype 'I64'";
    QTest::newRow("missing shape")
        << QByteArray(R"({"x": {"dtype": "F32", "data_offsets": [0, 4]}})") << 4
        << "tensor 'x': missing \"shape\"";
    QTest::newRow("shape not an array")
        << QByteArray(R"({"x": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}})") << 16
        << "tensor 'x': \"shape\" must be an array of integers";
    QTest::newRow("fractional dimension")
        << QByteArray(R"({"x": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})") << 4
        << "tensor 'x': \"shape\" must be an array of integers";
    QTest::newRow("negative dimension")
        << QByteArray(R"({"x": {"dtype": "F32", "shape": [2, -2], "data_offsets": [0, 16]}})") << 16
        << "tensor 'x': negative dimension -2";
    QTest::newRow("shape overflows")
        << QByteArray(
               R"({"x": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})")
        << 4 << "tensor 'x': shape [4294967296,4294967296] is too large";
    QTest::newRow("missing data_offsets")
        << "{\"x\": {" + f32_4 + "}}" << 16 << "tensor 'x': missing \"data_offsets\"";
    QTest::newRow("one offset") << "{\"x\": {" + f32_4 + R"(, "data_offsets": [0]}})" << 16
                                << "tensor 'x': \"data_offsets\" must be two non-negative integers";
    QTest::newRow("negative offset")
        << "{\"x\": {" + f32_4 + R"(, "data_offsets": [-16, 0]}})" << 16
        << "tensor 'x': \"data_offsets\" must be two non-negative";
    QTest::newRow("begin after end")
        << QByteArray(R"({"x": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})") << 16
        << "tensor 'x': data_offsets [8, 4] begin after end";
    QTest::newRow("end beyond data")
        << "{\"x\": {" + f32_4 + R"(, "data_offsets": [0, 16]}})" << 12
        << "tensor 'x': data_offsets [0, 16] end beyond data section (12 bytes)";
    QTest::newRow("size disagrees with shape")
        << "{\"x\": {" + f32_4 + R"(, "data_offsets": [0, 12]}})" << 16
        << "tensor 'x': data_offsets [0, 12] hold 12 bytes, but shape [4] of F32 needs 16";
    QTest::newRow("overlapping tensors")
        << "{\"x\": {" + f32_4 + R"(, "data_offsets": [0, 16]}, "y": {)" + f32_4 +
               R"(, "data_offsets": [8, 24]}})"
        << 24 << "tensor 'y': data_offsets [8, 24] overlap tensor 'x' [0, 16]";
    QTest::newRow("metadata not an object") << QByteArray(R"({"__metadata__": [1]})") << 0
                                            << "\"__metadata__\" must be an object of strings";
    QTest::newRow("metadata value not a string")
        << QByteArray(R"({"__metadata__": {"format": 1}})") << 0
        << "\"__metadata__\" entry 'format' must be a string";
  }
  void rejects_malformed_headers() {
    QFETCH(QByteArray, header);
    QFETCH(int, data_size);
    QFETCH(QString, expected);
    write_safetensors(path("bad.safetensors"), header, data_size);
    const std::string message = engine_error_of([&] { SafetensorsFile{path("bad.safetensors")}; });
    QVERIFY_CONTAINS(message, QString::fromStdString(path("bad.safetensors").string() + ": "));
    QVERIFY_CONTAINS(message, expected);
  }

  // Files whose framing is broken before the header can be read.
  void rejects_malformed_framing_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expected");
    QTest::newRow("empty") << QByteArray() << "file is 0 bytes, too short";
    QTest::newRow("7 bytes") << QByteArray(7, '\0') << "file is 7 bytes, too short";
    QTest::newRow("header length beyond file") << safetensors_bytes("{}", {}).replace(0, 1, "\x03")
                                               << "header length 3 beyond file size (10 bytes)";
    QTest::newRow("huge header length") << QByteArray(8, '\xff') + "{}"
                                        << "header length 18446744073709551615 beyond file size";
  }
  void rejects_malformed_framing() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expected);
    write_file(path("bad.safetensors"), bytes);
    const std::string message = engine_error_of([&] { SafetensorsFile{path("bad.safetensors")}; });
    QVERIFY_CONTAINS(message, QString::fromStdString(path("bad.safetensors").string() + ": "));
    QVERIFY_CONTAINS(message, expected);
  }

  void missing_file() {
    const std::string message = engine_error_of([&] { SafetensorsFile{path("none.safetensors")}; });
    QVERIFY_CONTAINS(message, "none.safetensors: cannot open");
  }

  void directory_of_files_without_index() {
    write_f32_tensor(path("b.safetensors"), "second", 2);
    write_f32_tensor(path("a.safetensors"), "first", 3);
    write_file(path("notes.txt"), "not a checkpoint");
    const SafetensorsArchive archive(dir());
    QCOMPARE(archive.tensors().size(), std::size_t(2));
    QCOMPARE(archive.get("first").numel(), 3);
    QCOMPARE(archive.source_of("second"), "b.safetensors");
    QCOMPARE(archive.mapped_bytes(),
             fs::file_size(path("a.safetensors")) + fs::file_size(path("b.safetensors")));
    QVERIFY(!archive.find("third"));
    const std::string message = engine_error_of([&] { archive.get("third"); });
    QVERIFY_CONTAINS(message,
                     QString::fromStdString("tensor 'third' not found in " + dir().string()));
  }

  void sharded_directory_with_index() {
    write_f32_tensor(path("model-00001-of-00002.safetensors"), "embed", 4);
    write_safetensors(path("model-00002-of-00002.safetensors"),
                      R"({"norm": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "head": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [8, 16]}})",
                      16);
    write_file(path("model.safetensors.index.json"), R"({"metadata": {"total_size": 32},
        "weight_map": {"embed": "model-00001-of-00002.safetensors",
                       "norm": "model-00002-of-00002.safetensors",
                       "head": "model-00002-of-00002.safetensors"}})");
    const SafetensorsArchive archive(dir());
    QCOMPARE(archive.tensors().size(), std::size_t(3));
    QCOMPARE(archive.source_of("head"), "model-00002-of-00002.safetensors");
    QCOMPARE(shape_string(archive.get("head").shape), "[2, 2]");
    QCOMPARE(archive.get("embed").numel(), 4);
  }

  void rejects_bad_directories_data() {
    QTest::addColumn<QByteArray>("index");  // empty: no index file
    QTest::addColumn<bool>("duplicate");    // a second file that also holds "embed"
    QTest::addColumn<QString>("expected");
    QTest::newRow("index names a missing file")
        << QByteArray(
               R"({"weight_map": {"embed": "a.safetensors", "lm_head": "gone.safetensors"}})")
        << false
        << "model.safetensors.index.json: weight_map names missing file 'gone.safetensors'";
    QTest::newRow("index names a tensor the file lacks")
        << QByteArray(R"({"weight_map": {"embed": "a.safetensors", "lm_head": "a.safetensors"}})")
        << false
        << "model.safetensors.index.json: tensor 'lm_head' is not in 'a.safetensors', the file it "
           "maps to";
    QTest::newRow("index without weight_map") << QByteArray(R"({"metadata": {}})") << false
                                              << "index.json: missing \"weight_map\" object";
    QTest::newRow("index not JSON")
        << QByteArray("{") << false << "model.safetensors.index.json: not valid JSON";
    for (const char* shard : {"../a.safetensors", "/etc/passwd", "sub/a.safetensors", "..", ""})
      QTest::newRow(qPrintable(QStringLiteral("index names \"%1\"").arg(shard)))
          << QByteArray("{\"weight_map\": {\"embed\": \"") + shard + "\"}}" << false
          << "; a shard must be a plain file name inside the model folder";
    QTest::newRow("tensor in two files")
        << QByteArray() << true << "tensor 'embed' is in both a.safetensors and b.safetensors";
    QTest::newRow("tensor in two indexed files")
        << QByteArray(R"({"weight_map": {"embed": "a.safetensors", "norm": "b.safetensors"}})")
        << true << "tensor 'embed' is in both a.safetensors and b.safetensors";
  }
  void rejects_bad_directories() {
    QFETCH(QByteArray, index);
    QFETCH(bool, duplicate);
    QFETCH(QString, expected);
    write_f32_tensor(path("a.safetensors"), "embed", 4);
    if (duplicate)
      write_safetensors(path("b.safetensors"),
                        R"({"norm": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                            "embed": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                        8);
    if (!index.isEmpty()) write_file(path("model.safetensors.index.json"), index);
    const std::string message = engine_error_of([&] { SafetensorsArchive{dir()}; });
    QVERIFY_CONTAINS(message, QString::fromStdString(dir().string()));
    QVERIFY_CONTAINS(message, expected);
  }

  // Data at an address that is not a multiple of the element size (the format does not
  // forbid it) is read correctly, through an aligned copy, not by a misaligned typed load.
  void misaligned_tensor_is_read_through_an_aligned_copy() {
    const float values[] = {1.5f, -2.0f, 3.25f};
    QByteArray header = R"({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}})";
    if (header.size() % 2 == 0) header += ' ';  // an odd header length: data at an odd address
    write_file(path("odd.safetensors"),
               safetensors_bytes(header,
                                 QByteArray(reinterpret_cast<const char*>(values), sizeof values)));
    const SafetensorsFile file(path("odd.safetensors"));
    const TensorView& t = file.tensors().at("t");
    QCOMPARE(reinterpret_cast<std::uintptr_t>(t.data) % alignof(float), std::uintptr_t(0));
    QCOMPARE(to_f32(t), (std::vector<float>{1.5f, -2.0f, 3.25f}));
  }

  // A FIFO under a shard's name is refused at once: opening it must not block.
  void refuses_a_fifo_shard() {
    write_f32_tensor(path("a.safetensors"), "embed", 4);
    QCOMPARE(::mkfifo(path("fifo.safetensors").c_str(), 0600), 0);
    write_file(path("model.safetensors.index.json"),
               R"({"weight_map": {"embed": "a.safetensors", "norm": "fifo.safetensors"}})");
    QVERIFY_CONTAINS(engine_error_of([&] { SafetensorsArchive{dir()}; }),
                     "fifo.safetensors: not a regular file");
    fs::remove(path("model.safetensors.index.json"));  // without an index, FIFOs are skipped
    QCOMPARE(SafetensorsArchive(dir()).get("embed").numel(), 4);
  }

  void rejects_missing_or_empty_directory() {
    const fs::path missing = path("nowhere");
    QVERIFY_CONTAINS(engine_error_of([&] { SafetensorsArchive{missing}; }),
                     QString::fromStdString(missing.string() + ": no such directory"));
    write_file(path("config.json"), "{}");
    QVERIFY_CONTAINS(engine_error_of([&] { SafetensorsArchive{dir()}; }),
                     tmp_->path() + ": no *.safetensors files");
  }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
