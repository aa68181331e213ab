// Chat templates against transformers' apply_chat_template: each family's own
// template (deepseek-moe-16b-chat, Qwen1.5-MoE-Chat, OLMoE-Instruct) and one
// multi-line template that needs trim_blocks, lstrip_blocks and '-', for a few
// conversations (tools/reference/make_bpe_fixtures.py writes chat_cases.json).
#include <QTest>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "support/expect_error.h"
#include "tokenizer/tokenizer.h"

using namespace moescope;
namespace fs = std::filesystem;
using nlohmann::json;

Q_DECLARE_METATYPE(std::string)

namespace {
const fs::path fixtures = fs::path(MOESCOPE_FIXTURES_DIR) / "tokenizers";
}  // namespace

class TestChatTemplate : public QObject {
  Q_OBJECT

 private slots:
  void renders_like_transformers_data() {
    QTest::addColumn<std::string>("family");
    QTest::addColumn<std::string>("case_json");
    for (const char* family : {"deepseek-moe-16b", "qwen1.5-moe", "olmoe"}) {
      std::ifstream in(fixtures / family / "chat_cases.json");
      const json cases = json::parse(in);
      QVERIFY(cases.size() >= 10);
      int n = 0;
      for (const json& c : cases)
        QTest::addRow("%s #%d%s", family, n++, c["template"].is_null() ? "" : " (layout)")
            << std::string(family) << c.dump();
    }
  }
  void renders_like_transformers() {
    QFETCH(std::string, family);
    QFETCH(std::string, case_json);
    const json c = json::parse(case_json);
    const fs::path dir = fixtures / family;
    const std::optional<std::string> own = read_chat_template(dir);
    QVERIFY(own);
    const ChatTemplate tmpl(c["template"].is_null() ? *own : c["template"].get<std::string>());

    // bos_token / eos_token as the tokenizer has them (OLMoE has no BOS).
    const auto tokenizer = load_tokenizer(dir);
    std::map<std::string, std::string> variables;
    if (tokenizer->bos_id()) variables["bos_token"] = tokenizer->piece(*tokenizer->bos_id());
    if (tokenizer->eos_id()) variables["eos_token"] = tokenizer->piece(*tokenizer->eos_id());

    std::vector<ChatMessage> messages;
    for (const json& m : c["messages"]) messages.push_back({m["role"], m["content"]});
    const std::string text = tmpl.render(messages, c["add_generation_prompt"], variables);
    QCOMPARE(QString::fromStdString(text), QString::fromStdString(c["text"].get<std::string>()));
  }

  // Mixtral-8x7B-Instruct's [INST] template (tests/fixtures/chat/, written by
  // tools/reference/make_chat_fixtures.py): renderings and raise_exception
  // messages as transformers' apply_chat_template gives them.
  void renders_mixtral_instruct_like_transformers_data() {
    QTest::addColumn<std::string>("case_json");
    std::ifstream in(fs::path(MOESCOPE_FIXTURES_DIR) /
                     "chat/mixtral-8x7b-instruct/chat_cases.json");
    const json cases = json::parse(in);
    QVERIFY(cases.size() >= 9);
    int n = 0;
    for (const json& c : cases)
      QTest::addRow("#%d%s", n++, c.contains("error") ? " (error)" : "") << c.dump();
  }
  void renders_mixtral_instruct_like_transformers() {
    QFETCH(std::string, case_json);
    const json c = json::parse(case_json);
    const std::optional<std::string> source =
        read_chat_template(fs::path(MOESCOPE_FIXTURES_DIR) / "chat/mixtral-8x7b-instruct");
    QVERIFY(source);
    QVERIFY_CONTAINS(*source, "[INST]");
    const ChatTemplate tmpl(*source);
    const std::map<std::string, std::string> variables = {{"bos_token", "<s>"},
                                                          {"eos_token", "</s>"}};
    std::vector<ChatMessage> messages;
    for (const json& m : c["messages"]) messages.push_back({m["role"], m["content"]});
    if (c.contains("error")) {
      QVERIFY_CONTAINS(
          engine_error_of([&] { tmpl.render(messages, c["add_generation_prompt"], variables); }),
          c["error"].get<std::string>().c_str());
      return;
    }
    const std::string text = tmpl.render(messages, c["add_generation_prompt"], variables);
    QCOMPARE(QString::fromStdString(text), QString::fromStdString(c["text"].get<std::string>()));
  }

  void rejects_what_it_does_not_support_data() {
    QTest::addColumn<std::string>("source");
    QTest::addColumn<QString>("says");
    QTest::newRow("macro") << std::string("{% macro f() %}x{% endmacro %}") << "macro";
    QTest::newRow("unknown filter") << std::string("{{ messages | tojson }}") << "tojson";
    QTest::newRow("unknown test") << std::string("{% if x is odd %}{% endif %}") << "odd";
    QTest::newRow("missing endfor") << std::string("{% for m in messages %}x") << "endfor";
    QTest::newRow("unclosed tag") << std::string("{{ bos_token ") << "unclosed";
    QTest::newRow("stray operator") << std::string("{{ 1 + }}") << "unexpected";
  }
  void rejects_what_it_does_not_support() {
    QFETCH(std::string, source);
    QFETCH(QString, says);
    const std::string message = engine_error_of([&] { ChatTemplate t(source); });
    QVERIFY_CONTAINS(message, "chat template");
    QVERIFY_CONTAINS(message, says);
  }

  // Integer arithmetic as Python defines it (floor division, the divisor's sign for %);
  // what 64 bits cannot hold is refused, never wrapped or trapped.
  void integer_arithmetic_data() {
    QTest::addColumn<std::string>("expression");
    QTest::addColumn<std::string>("value");  // empty: refused with `says`
    QTest::addColumn<QString>("says");
    QTest::newRow("floor division") << std::string("-7 // 2") << std::string("-4") << "";
    QTest::newRow("modulo, divisor's sign") << std::string("-7 % 3") << std::string("2") << "";
    QTest::newRow("modulo, negative divisor") << std::string("7 % -3") << std::string("-2") << "";
    QTest::newRow("exact division") << std::string("-8 // 2") << std::string("-4") << "";
    QTest::newRow("most negative % -1")
        << std::string("(-9223372036854775807 - 1) % -1") << std::string("0") << "";
    QTest::newRow("most negative // -1") << std::string("(-9223372036854775807 - 1) // -1")
                                         << std::string() << "integer overflow in '//'";
    QTest::newRow("sum overflows")
        << std::string("9223372036854775807 + 1") << std::string() << "integer overflow in '+'";
    QTest::newRow("product overflows")
        << std::string("4294967296 * 4294967296") << std::string() << "integer overflow in '*'";
    QTest::newRow("literal beyond 64 bits")
        << std::string("99999999999999999999") << std::string() << "does not fit in 64 bits";
    QTest::newRow("division by zero")
        << std::string("1 // 0") << std::string() << "division by zero";
  }
  void integer_arithmetic() {
    QFETCH(std::string, expression);
    QFETCH(std::string, value);
    QFETCH(QString, says);
    const auto render = [&] { return ChatTemplate("{{ " + expression + " }}").render({}, false); };
    if (value.empty())
      QVERIFY_CONTAINS(engine_error_of(render), says);
    else
      QCOMPARE(render(), value);
  }

  // Nesting that would overflow the stack when parsed, evaluated or freed is refused.
  void deep_expressions_refused_data() {
    QTest::addColumn<std::string>("expression");
    QTest::newRow("100 000 parentheses")
        << std::string(100000, '(') + "1" + std::string(100000, ')');
    QTest::newRow("100 000 nots") << [] {
      std::string e;
      for (int i = 0; i < 100000; ++i) e += "not ";
      return e + "1";
    }();
    QTest::newRow("a 100 000-term sum") << [] {
      std::string e = "1";
      for (int i = 0; i < 100000; ++i) e += " + 1";
      return e;
    }();
  }
  void deep_expressions_refused() {
    QFETCH(std::string, expression);
    QVERIFY_CONTAINS(engine_error_of([&] { ChatTemplate t("{{ " + expression + " }}"); }),
                     "expression nested deeper than");
  }

  // Blocks nested past any real template, and output that grows without end, are refused.
  void runaway_templates_refused() {
    std::string deep;
    for (int i = 0; i < 50000; ++i) deep += "{% if true %}";
    deep += "x";
    for (int i = 0; i < 50000; ++i) deep += "{% endif %}";
    QVERIFY_CONTAINS(engine_error_of([&] { ChatTemplate t(deep); }),
                     "blocks nested deeper than 64 levels");

    std::string list = "[";
    for (int i = 0; i < 64; ++i) list += "0,";
    list.back() = ']';
    std::string loops;
    for (int i = 0; i < 5; ++i) loops += "{% for v" + std::to_string(i) + " in " + list + " %}";
    loops += std::string(1000, 'x');
    for (int i = 0; i < 5; ++i) loops += "{% endfor %}";
    const ChatTemplate runaway(loops);  // 64^5 x 1000 bytes = 1 TiB if it ran to the end
    QVERIFY_CONTAINS(engine_error_of([&] { runaway.render({}, false); }),
                     "the rendered text exceeds 16 MiB");
  }

  void raise_exception_is_an_engine_error() {
    const ChatTemplate t(
        "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}"
        "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}"
        "{% endfor %}");
    const std::vector<ChatMessage> ok = {{"user", "hi"}}, bad = {{"tool", "x"}};
    QCOMPARE(t.render(ok, false), std::string());
    QVERIFY_CONTAINS(engine_error_of([&] { t.render(bad, false); }),
                     "Only user and assistant roles are supported!");
  }
};

QTEST_GUILESS_MAIN(TestChatTemplate)
#include "test_chat_template.moc"
