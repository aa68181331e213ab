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
    std::ifstream in(fs::path(MOESCOPE_FIXTURES_DIR) / "chat/mixtral-8x7b-instruct/chat_cases.json");
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
      QVERIFY_CONTAINS(engine_error_of([&] {
                         tmpl.render(messages, c["add_generation_prompt"], variables);
                       }),
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
