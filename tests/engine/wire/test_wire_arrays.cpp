// The encodings of routed-expert arrays against NumPy's own output (fixtures made by
// tests/fixtures/remote/make_numpy_fixtures.py): base64, .npy in every integer dtype,
// SGLang's raw int32, nested lists, the event-stream splitter; and the rejections of
// malformed payloads, each naming the field.
#include <QTest>
#include <filesystem>

#include "core/json.h"
#include "support/expect_error.h"
#include "wire/base64.h"
#include "wire/npy.h"
#include "wire/routed_experts.h"
#include "wire/sse.h"

using namespace moescope;
using nlohmann::json;

namespace {

const json& numpy_fixtures() {
  static const json fixtures =
      read_json_file(std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "remote" / "numpy_arrays.json");
  return fixtures;
}

std::string fixture_base64(const char* name) {
  return numpy_fixtures()[name]["base64"].get<std::string>();
}

void compare_to_values(const RoutedExperts& experts, const json& values) {
  QCOMPARE(experts.tokens, int(values.size()));
  QCOMPARE(experts.layers, int(values[0].size()));
  QCOMPARE(experts.top_k, int(values[0][0].size()));
  for (int t = 0; t < experts.tokens; ++t)
    for (int l = 0; l < experts.layers; ++l)
      for (int k = 0; k < experts.top_k; ++k)
        QCOMPARE(experts.at(t, l, k), values[t][l][k].get<int>());
}

std::vector<std::uint8_t> bytes_of(std::string_view text) {
  return {text.begin(), text.end()};
}

}  // namespace

class TestWireArrays : public QObject {
  Q_OBJECT

 private slots:
  void base64MatchesRfc4648() {
    const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                      {"f", "Zg=="},
                                                                      {"fo", "Zm8="},
                                                                      {"foo", "Zm9v"},
                                                                      {"foob", "Zm9vYg=="},
                                                                      {"fooba", "Zm9vYmE="},
                                                                      {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
      QCOMPARE(base64_encode(bytes_of(plain)), encoded);
      QVERIFY(base64_decode(encoded, "field") == bytes_of(plain));
    }
    std::vector<std::uint8_t> all(256);
    for (int i = 0; i < 256; ++i) all[i] = std::uint8_t(i);
    QVERIFY(base64_decode(base64_encode(all), "field") == all);
  }

  void base64RejectsMalformed() {
    QVERIFY_CONTAINS(engine_error_of([] { base64_decode("Zm9vY", "x.routed"); }),
                     "x.routed: base64 of 5 characters, not a multiple of 4 (truncated?)");
    QVERIFY_CONTAINS(engine_error_of([] { base64_decode("Zm9v!A==", "x"); }),
                     "x: not base64 (character 4 is byte 33)");
    QVERIFY_CONTAINS(engine_error_of([] { base64_decode("Zg==Zm8=", "x"); }),
                     "padding before the end");
    QVERIFY_CONTAINS(engine_error_of([] { base64_decode("Zm=v", "x"); }), "x: not base64");
  }

  void npyReadsEveryIntegerDtypeNumPyWrites_data() {
    QTest::addColumn<QString>("name");
    for (const char* name : {"npy_int16", "npy_int32", "npy_int64", "npy_uint8"})
      QTest::newRow(name) << name;
  }

  void npyReadsEveryIntegerDtypeNumPyWrites() {
    QFETCH(QString, name);
    const std::string key = name.toStdString();
    compare_to_values(routed_experts_from_npy_base64(fixture_base64(key.c_str()), "f"),
                      numpy_fixtures()[key]["values"]);
  }

  void npyKeepsTheUnknownMark() {
    const RoutedExperts experts =
        routed_experts_from_npy_base64(fixture_base64("npy_int16_with_unknown"), "f");
    compare_to_values(experts, numpy_fixtures()["npy_int16_with_unknown"]["values"]);
    QCOMPARE(experts.at(0, 0, 0), RoutedExperts::unknown);
  }

  void npyWriterMatchesNumPyByteForByte() {
    const json& fixture = numpy_fixtures()["npy_int16"];
    const RoutedExperts experts = routed_experts_from_nested(fixture["values"], "values");
    QCOMPARE(routed_experts_to_npy_base64(experts), fixture["base64"].get<std::string>());
  }

  void npyRejectsWhatIsNotIntegerRouting() {
    QVERIFY_CONTAINS(
        engine_error_of([] { routed_experts_from_npy_base64(fixture_base64("npy_float32"), "r"); }),
        "r: .npy dtype <f4 is not a little-endian integer type");
    QVERIFY_CONTAINS(
        engine_error_of([] { routed_experts_from_npy_base64(fixture_base64("npy_fortran"), "r"); }),
        "r: .npy array in Fortran order");
    QVERIFY_CONTAINS(engine_error_of([] {
                       routed_experts_from_npy_base64(fixture_base64("npy_big_endian"), "r");
                     }),
                     "r: .npy dtype >i4");
    // Cut short: the payload no longer matches the shape.
    std::vector<std::uint8_t> bytes = base64_decode(fixture_base64("npy_int16"), "f");
    bytes.resize(bytes.size() - 2);
    QVERIFY_CONTAINS(engine_error_of([&] { read_npy_ints(bytes, "r"); }),
                     "r: .npy payload of 118 bytes, expected 120 for its shape (truncated?)");
    bytes.resize(9);
    QVERIFY_CONTAINS(engine_error_of([&] { read_npy_ints(bytes, "r"); }), "no \\x93NUMPY magic");
    const std::string two_d = base64_encode(write_npy_int16({2, 3}, {1, 2, 3, 4, 5, 6}));
    QVERIFY_CONTAINS(engine_error_of([&] { routed_experts_from_npy_base64(two_d, "r"); }),
                     "r: a routing array has 3 dimensions [tokens, layers, top_k], this one has 2");
  }

  void int32ReadsSGLangBytes() {
    const json& fixture = numpy_fixtures()["raw_int32"];
    const RoutedExperts experts =
        routed_experts_from_int32_base64(fixture["base64"].get<std::string>(), 3, 4, "f");
    compare_to_values(experts, fixture["values"]);
    QCOMPARE(routed_experts_to_int32_base64(experts), fixture["base64"].get<std::string>());
    // The same bytes read as 4 layers of 4 do not make whole tokens.
    QVERIFY_CONTAINS(engine_error_of([&] {
                       routed_experts_from_int32_base64(fixture["base64"].get<std::string>(), 4, 4,
                                                        "meta_info.routed_experts");
                     }),
                     "meta_info.routed_experts: 288 bytes, not whole tokens of 4 layers x 4 "
                     "experts as int32 (truncated?)");
  }

  void jsonFormIsRecognised() {
    const json& fixture = numpy_fixtures()["npy_int32"];
    compare_to_values(routed_experts_from_json(fixture["base64"], 99, 99, "f"), fixture["values"]);
    compare_to_values(routed_experts_from_json(fixture["values"], 99, 99, "f"), fixture["values"]);
    const json& raw = numpy_fixtures()["raw_int32"];
    compare_to_values(routed_experts_from_json(raw["base64"], 3, 4, "f"), raw["values"]);
    QVERIFY_CONTAINS(engine_error_of([] { routed_experts_from_json(json(3), 3, 4, "f"); }),
                     "f: expected a list or a base64 string, got number");
  }

  void nestedRejectsRaggedAndNonIds() {
    QVERIFY_CONTAINS(engine_error_of([] {
                       routed_experts_from_nested(json::parse("[[[1,2],[3,4]],[[5,6],[7]]]"),
                                                  "choices[0].routed_experts");
                     }),
                     "choices[0].routed_experts[1][1]: 1 experts, expected 2 as in the first row");
    QVERIFY_CONTAINS(engine_error_of([] {
                       routed_experts_from_nested(json::parse("[[[1,2]],[[3,4],[5,6]]]"), "r");
                     }),
                     "r[1]: 2 layers, expected 1");
    QVERIFY_CONTAINS(
        engine_error_of([] { routed_experts_from_nested(json::parse("[[[1,\"2\"]]]"), "r"); }),
        "r[0][0][1]: expected an expert id, got \"2\"");
    QVERIFY_CONTAINS(
        engine_error_of([] { routed_experts_from_nested(json::parse("[[[1,-7]]]"), "r"); }),
        "r[0][0][1]: expert id -7 is not an expert");
    QVERIFY(routed_experts_to_nested(routed_experts_from_nested(
                json::parse("[[[1,2]],[[3,4]]]"), "r")) == json::parse("[[[1,2]],[[3,4]]]"));
  }

  void sseSplitsEventsAcrossAnyPieces() {
    const std::string stream =
        ": keep-alive\r\n\r\ndata: {\"a\": 1}\r\n\r\ndata: {\"b\":\ndata: 2}\n\ndata: [DONE]\n\n";
    for (std::size_t piece : {std::size_t(1), std::size_t(3), stream.size()}) {
      SseParser parser;
      std::vector<std::string> events;
      for (std::size_t i = 0; i < stream.size(); i += piece)
        parser.feed(std::string_view(stream).substr(i, piece),
                    [&](std::string_view data) { events.emplace_back(data); });
      QCOMPARE(events.size(), std::size_t(3));
      QCOMPARE(events[0], std::string("{\"a\": 1}"));
      QCOMPARE(events[1], std::string("{\"b\":\n2}"));
      QCOMPARE(events[2], std::string("[DONE]"));
      QVERIFY(!parser.has_partial_event());
    }
    SseParser cut;
    cut.feed("data: {\"choices\": [", [](std::string_view) { QFAIL("an unfinished event"); });
    QVERIFY(cut.has_partial_event());
  }
};

QTEST_GUILESS_MAIN(TestWireArrays)
#include "test_wire_arrays.moc"
