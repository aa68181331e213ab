// Multi-turn chat on the fixture model dense-lead-f32 given the
// deepseek-moe-16b-chat template: the second turn runs only the ids its
// rendering adds to the cached ones and gives the same logits and reply as a
// fresh session that prefills the whole conversation; a template that
// rewrites earlier turns rewinds the cache and still agrees; tokenization as
// apply_chat_template(tokenize=True) (one BOS, the template's).
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "chat/chat_session.h"
#include "cpu/cpu_backend.h"
#include "model/model.h"
#include "support/expect_error.h"
#include "support/generated_ids.h"
#include "tokenizer/tokenizer.h"

using namespace moescope;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path fixtures = MOESCOPE_FIXTURES_DIR;

// Counts the tokens run and keeps every position's logits.
class RecordingBackend final : public Backend {
 public:
  explicit RecordingBackend(const Model& model) : inner_(model) {}
  std::span<const float> forward_batch(std::span<const int> ids, int pos0,
                                       const Interventions& interventions,
                                       std::span<TokenRouting> traces,
                                       LogitsWanted wanted) override {
    forwards += int(ids.size());
    const auto every = inner_.forward_batch(ids, pos0, interventions, traces, LogitsWanted::all);
    const std::size_t vocab = every.size() / ids.size();
    if (logits_at.size() < pos0 + ids.size()) logits_at.resize(pos0 + ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto row = every.subspan(i * vocab, vocab);
      logits_at[pos0 + i].assign(row.begin(), row.end());
    }
    return wanted == LogitsWanted::all ? every : every.last(vocab);
  }
  void keep_hidden_states(bool on) override { inner_.keep_hidden_states(on); }
  std::span<const float> hidden_states() const override { return inner_.hidden_states(); }
  void reset() override {
    ++resets;
    inner_.reset();
  }
  std::string name() const override { return inner_.name(); }

  int forwards = 0;  // tokens run
  int resets = 0;
  std::vector<std::vector<float>> logits_at;  // [position][vocab], the latest run of each

 private:
  CpuBackend inner_;
};

// A model folder's model, tokenizer, recording backend and chat session.
struct ChatRig {
  explicit ChatRig(const fs::path& dir)
      : model(Model::load(dir)),
        tokenizer(load_tokenizer(dir)),
        backend(*model),
        chat(backend, *tokenizer, model->config(), dir) {}
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  RecordingBackend backend;
  ChatSession chat;
};

std::string deepseek_chat_template() {
  std::ifstream in(fixtures / "tokenizers/deepseek-moe-16b/tokenizer_config.json");
  return json::parse(in)["chat_template"];
}

// dense-lead-f32 (SentencePiece, <s> </s>) with `chat_template` in its tokenizer_config.json.
fs::path chat_model(const QTemporaryDir& tmp, const std::string& chat_template) {
  const fs::path dir = fs::path(tmp.path().toStdString()) / "dense-lead-chat";
  fs::copy(fixtures / "models/dense-lead-f32", dir, fs::copy_options::recursive);
  std::ifstream in(dir / "tokenizer_config.json");
  json config = json::parse(in);
  in.close();
  config["chat_template"] = chat_template;
  std::ofstream(dir / "tokenizer_config.json") << config.dump(2);
  return dir;
}

GenerationRequest greedy(int max_tokens) {
  GenerationRequest r;
  r.sampling.temperature = 0.0f;
  r.sampling.seed = 7;
  r.sampling.max_tokens = max_tokens;
  return r;
}

int prompt_count(const GenerationResult& result) {
  int n = 0;
  for (const auto& t : result.tokens) n += t.routing.is_prompt;
  return n;
}

}  // namespace

class TestChatSession : public QObject {
  Q_OBJECT

 private:
  // Two turns in one session against the second turn in a fresh one.
  // `first_tokens` 0: the first reply is empty, so its rendering extends the
  // cached ids exactly (the tiny model's replies do not re-tokenize to the ids
  // it generated: "à" follows "Assistant:" directly, the template writes "Assistant: à").
  void check_second_turn_matches_fresh(const fs::path& dir, int first_tokens,
                                       bool expect_full_reuse) {
    ChatRig rig(dir);
    auto& [model, tokenizer, backend, chat] = rig;

    const ChatTurnResult first = chat.send("Which experts fire?", greedy(first_tokens));
    QCOMPARE(first.reused_tokens, 0);
    QCOMPARE(int(chat.messages().size()), 2);
    QCOMPARE(chat.messages()[1].role, std::string("assistant"));
    QCOMPARE(chat.messages()[1].content, first.reply);
    const std::vector<int> cached = chat.cached_ids();
    QCOMPARE(int(cached.size()),
             first.generation.prompt_tokens + first.generation.generated_tokens);
    const std::vector<ChatMessage> history = chat.messages();

    const int forwards_before = backend.forwards;
    const ChatTurnResult second = chat.send("And why those?", greedy(6));
    std::vector<ChatMessage> conversation = history;
    conversation.push_back({"user", "And why those?"});
    const std::vector<int> ids = chat.tokenize(chat.render(conversation));
    QCOMPARE(second.rendered, chat.render(conversation));

    // Only the ids past the shared prefix ran as prompt tokens.
    // All that can be: the longest prefix the new ids share with the cached ones.
    const int reused = second.reused_tokens;
    const int shared = int(
        std::mismatch(cached.begin(), cached.end(), ids.begin(), ids.end()).first - cached.begin());
    QCOMPARE(reused, shared);
    QCOMPARE(second.discarded_tokens, int(cached.size()) - shared);
    if (expect_full_reuse) {
      QCOMPARE(reused, int(cached.size()));
      QCOMPARE(second.discarded_tokens, 0);
    }
    qInfo("turn 2: %d ids, %d cached, %d reused, %d run as prompt", int(ids.size()),
          int(cached.size()), reused, second.generation.prompt_tokens);
    QCOMPARE(second.generation.prompt_tokens, int(ids.size()) - reused);
    QCOMPARE(prompt_count(second.generation), int(ids.size()) - reused);
    QCOMPARE(backend.forwards - forwards_before,
             int(ids.size()) - reused + second.generation.generated_tokens);
    QCOMPARE(backend.resets, 1);  // the first turn only
    QCOMPARE(second.generation.tokens.front().routing.position, reused);

    // A fresh session fed the whole conversation computes the same.
    RecordingBackend fresh_backend(*model);
    ChatSession fresh(fresh_backend, *tokenizer, model->config(), dir);
    fresh.set_messages(history);
    const ChatTurnResult again = fresh.send("And why those?", greedy(6));
    QCOMPARE(again.reused_tokens, 0);
    QCOMPARE(again.generation.prompt_tokens, int(ids.size()));
    QCOMPARE(generated_ids(second.generation), generated_ids(again.generation));
    QCOMPARE(second.generation.generated_text, again.generation.generated_text);
    QCOMPARE(chat.cached_ids(), fresh.cached_ids());
    const int end = int(ids.size()) + second.generation.generated_tokens;
    for (int pos = reused; pos < end; ++pos)
      QCOMPARE(backend.logits_at[pos], fresh_backend.logits_at[pos]);
    for (std::size_t i = 0; i < second.generation.tokens.size(); ++i) {
      const auto& a = second.generation.tokens[i].routing;
      const auto& b = again.generation.tokens[reused + i].routing;
      QCOMPARE(a.position, b.position);
      for (std::size_t l = 0; l < a.layers.size(); ++l) {
        QCOMPARE(a.layers[l].expert_ids, b.layers[l].expert_ids);
        QCOMPARE(a.layers[l].gate_weights, b.layers[l].gate_weights);
      }
    }
  }

 private slots:
  void second_turn_runs_only_the_new_suffix() {
    QTemporaryDir tmp;
    const fs::path dir = chat_model(tmp, deepseek_chat_template());
    check_second_turn_matches_fresh(dir, 0, true);
    check_second_turn_matches_fresh(dir, 6, false);
  }

  // "Turns: N" at the top changes with every turn: the cache is rewound to
  // the BOS it still shares, and the turn still equals a fresh one.
  void a_template_that_rewrites_history_rewinds_the_cache() {
    QTemporaryDir tmp;
    const std::string counting =
        "{{ bos_token }}Turns: {{ messages | length }}\n" +
        deepseek_chat_template().substr(deepseek_chat_template().find("{% for message"));
    const fs::path dir = chat_model(tmp, counting);
    check_second_turn_matches_fresh(dir, 6, false);

    ChatRig rig(dir);
    auto& [model, tokenizer, backend, chat] = rig;
    chat.send("One", greedy(3));
    const int cached = int(chat.cached_ids().size());
    const ChatTurnResult second = chat.send("Two", greedy(3));
    QVERIFY(second.reused_tokens >= 1);  // the BOS
    QVERIFY(second.discarded_tokens > 0);
    QCOMPARE(second.reused_tokens + second.discarded_tokens, cached);
    QVERIFY(!second.cache_reset);
  }

  void other_interventions_reset_the_cache() {
    QTemporaryDir tmp;
    const fs::path dir = chat_model(tmp, deepseek_chat_template());
    ChatRig rig(dir);
    auto& [model, tokenizer, backend, chat] = rig;
    chat.send("One", greedy(3));
    GenerationRequest masked = greedy(3);
    masked.interventions.disabled_shared.insert(Interventions::all_layers);
    const ChatTurnResult second = chat.send("Two", masked);
    QVERIFY(second.cache_reset);
    QCOMPARE(second.reused_tokens, 0);
    QCOMPARE(backend.resets, 2);
    // Unchanged interventions reuse again.
    const ChatTurnResult third = chat.send("Three", masked);
    QVERIFY(third.reused_tokens > 0);
    QCOMPARE(backend.resets, 2);
  }

  void a_cancelled_turn_stays_out_of_the_conversation() {
    QTemporaryDir tmp;
    const fs::path dir = chat_model(tmp, deepseek_chat_template());
    ChatRig rig(dir);
    auto& [model, tokenizer, backend, chat] = rig;
    std::atomic<bool> cancel{false};
    const ChatTurnResult turn = chat.send(
        "Stop me", greedy(5), [&](const GeneratedToken& t) { cancel = !t.routing.is_prompt; },
        &cancel);
    QCOMPARE(turn.generation.stop, StopReason::cancelled);
    QVERIFY(chat.messages().empty());
    // The cache holds what ran, and the next turn reuses its matching prefix.
    QCOMPARE(int(chat.cached_ids().size()), int(turn.generation.tokens.size()));
    const ChatTurnResult next = chat.send("Stop me", greedy(2));
    QCOMPARE(next.reused_tokens, turn.generation.prompt_tokens - 1);
  }

  // The template writes BOS; tokenizing adds none (transformers'
  // apply_chat_template(tokenize=True)), and "<s>"/"</s>" in the text are the
  // special tokens, not characters.
  void tokenizes_like_apply_chat_template() {
    QTemporaryDir tmp;
    const fs::path dir = chat_model(tmp, deepseek_chat_template());
    ChatRig rig(dir);
    auto& [model, tokenizer, backend, chat] = rig;
    const std::string text = chat.render({{"user", "Hi"}, {"assistant", "Hello"}, {"user", "Bye"}});
    QCOMPARE(text, std::string("<s>User: Hi\n\nAssistant: Hello</s>User: Bye\n\nAssistant:"));
    const std::vector<int> ids = chat.tokenize(text);
    const int bos = *tokenizer->bos_id(), eos = *tokenizer->eos_id();
    QCOMPARE(std::count(ids.begin(), ids.end(), bos), std::ptrdiff_t(1));
    QCOMPARE(ids.front(), bos);
    QCOMPARE(std::count(ids.begin(), ids.end(), eos), std::ptrdiff_t(1));
    std::vector<int> expected = tokenizer->encode("User: Hi\n\nAssistant: Hello");  // BOS first
    expected.push_back(eos);
    const std::vector<int> rest = tokenizer->encode_without_special("User: Bye\n\nAssistant:");
    expected.insert(expected.end(), rest.begin(), rest.end());
    QCOMPARE(ids, expected);

    // Byte-level BPE: the same ids as encode(), less the BOS it adds.
    const auto bpe = load_tokenizer(fixtures / "tokenizers/deepseek-moe-16b");
    const std::string s = "User: Hi<｜end▁of▁sentence｜>";
    std::vector<int> with_bos = bpe->encode(s);
    QCOMPARE(with_bos.front(), *bpe->bos_id());
    with_bos.erase(with_bos.begin());
    QCOMPARE(bpe->encode_without_special(s), with_bos);
  }

  void a_model_without_a_template_is_an_error() {
    const fs::path dir = fixtures / "models/dense-lead-f32";
    const auto model = Model::load(dir);
    const auto tokenizer = load_tokenizer(dir);
    CpuBackend backend(*model);
    const std::string message =
        engine_error_of([&] { ChatSession chat(backend, *tokenizer, model->config(), dir); });
    QVERIFY_CONTAINS(message, "tokenizer_config.json");
    QVERIFY_CONTAINS(message, "has no chat_template");
  }

  void template_errors_leave_the_conversation_unchanged() {
    QTemporaryDir tmp;
    std::ifstream in(fixtures / "chat/mixtral-8x7b-instruct/tokenizer_config.json");
    const fs::path dir = chat_model(tmp, json::parse(in)["chat_template"]);
    ChatRig rig(dir);
    ChatSession& chat = rig.chat;  // a reference, not a structured binding: lambdas capture it
    chat.set_messages({{"user", "a"}});  // the next user turn breaks the alternation
    QVERIFY_CONTAINS(engine_error_of([&] { chat.send("b", greedy(2)); }),
                     "Conversation roles must alternate");
    QCOMPARE(int(chat.messages().size()), 1);
    chat.clear();
    const ChatTurnResult turn = chat.send("[INST] inside", greedy(2));
    QVERIFY(turn.rendered.starts_with("<s>[INST] [INST] inside [/INST]"));
    // Mixtral-instruct's template has no system role: its own error, nothing kept.
    chat.clear("Be brief.");
    QVERIFY_CONTAINS(engine_error_of([&] { chat.send("hi", greedy(2)); }),
                     "Conversation roles must alternate");
    QCOMPARE(int(chat.messages().size()), 1);
  }

  // A new conversation with a system prompt: the template renders it first,
  // and it stays through later turns until the next clear.
  void system_prompt_opens_the_conversation() {
    QTemporaryDir tmp;
    const fs::path dir = chat_model(tmp, deepseek_chat_template());
    ChatRig rig(dir);
    auto& [model, tokenizer, backend, chat] = rig;
    chat.clear("You are terse.");
    const ChatTurnResult first = chat.send("Hello", greedy(3));
    QCOMPARE(first.rendered, std::string("<s>You are terse.\n\nUser: Hello\n\nAssistant:"));
    const ChatTurnResult second = chat.send("Again", greedy(3));
    QVERIFY(second.rendered.starts_with("<s>You are terse.\n\nUser: Hello\n\nAssistant:"));
    QVERIFY(second.reused_tokens > 0);
    chat.clear();
    QVERIFY(chat.messages().empty());
    QCOMPARE(chat.send("Hello", greedy(1)).rendered, std::string("<s>User: Hello\n\nAssistant:"));
  }
};

QTEST_GUILESS_MAIN(TestChatSession)
#include "test_chat_session.moc"
