// The libcurl client against the loopback contract server (contract_server.h), for
// both engines: the routing of every token as the server documented it, streamed
// and whole, the API key, and each failure the issue names — unreachable, TLS,
// 401, capture off (naming the flag), malformed and truncated routing (naming the
// field), a stream that drops (the partial run kept and marked), cancel.
#include <QTest>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "contract/contract_server.h"
#include "remote/http_client.h"
#include "remote/served_generation.h"
#include "support/expect_error.h"
#include "support/sanitizer_slowdown.h"
#include "wire/served_model.h"
#include "wire/sse.h"

using namespace moescope;
using namespace moescope::test;
using nlohmann::json;

namespace {

const std::filesystem::path model_dir =
    std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32";

SamplingSettings few_tokens(int n = 5) {
  SamplingSettings s;
  s.max_tokens = n;
  return s;
}

// What the contract server sent, token by token: ids, prompt flags, expert ids of
// both MoE layers; the tokens it has no routing for have none.
void check_served_routing(const RoutingSnapshot& snapshot, int generated, int routed_tokens) {
  QVERIFY(snapshot.routing_detail == RoutingDetail::ids_only);
  int prompt = 0;
  while (prompt < int(snapshot.tokens.size()) && snapshot.tokens[prompt].routing.is_prompt)
    ++prompt;
  QCOMPARE(int(snapshot.tokens.size()), prompt + generated);
  for (int t = 0; t < int(snapshot.tokens.size()); ++t) {
    const TokenRouting& routing = snapshot.tokens[t].routing;
    if (t >= prompt) QCOMPARE(routing.token_id, contract_first_output_id + t - prompt);
    if (t >= routed_tokens) {
      QVERIFY(routing.layers.empty());
      continue;
    }
    QCOMPARE(routing.layers.size(), std::size_t(2));
    for (int m = 0; m < 2; ++m) {
      QCOMPARE(routing.layers[m].layer, m + 1);
      QVERIFY(routing.layers[m].scores.empty());
      for (int k = 0; k < 4; ++k)
        QCOMPARE(routing.layers[m].expert_ids[k], contract_expert(t, m, k));
    }
  }
}

int prompt_tokens(const RoutingSnapshot& snapshot) {
  int n = 0;
  for (const SnapshotToken& token : snapshot.tokens) n += token.routing.is_prompt;
  return n;
}

}  // namespace

class TestServedGeneration : public QObject {
  Q_OBJECT

  ServedModel model_ = load_served_model(model_dir, "tiny");

 private slots:
  void vllmWholeAnswer() {
    ContractServer server(ServerEngine::vllm, Fault::none, "secret");
    std::string shown;
    const ServedGeneration run = generate_on_server(
        {server.url() + "/v1/", ServerEngine::vllm, "secret"}, model_, "The router sends",
        few_tokens(), [&](const std::string& text) { shown += text; });
    const json asked = server.last_completion_request();
    QVERIFY(asked["return_token_ids"] == true && asked["stream"] == false);
    QVERIFY(asked["model"] == "tiny" && asked["max_tokens"] == 5);
    QCOMPARE(run.generated_tokens, 5);
    QCOMPARE(run.finish_reason, std::string("length"));
    QVERIFY(run.snapshot.incomplete.empty());
    QCOMPARE(run.snapshot.backend, std::string("vllm"));
    QCOMPARE(shown, run.snapshot.generated_text);
    check_served_routing(run.snapshot, 5, int(run.snapshot.tokens.size()));
  }

  void sglangStream() {
    ContractServer server(ServerEngine::sglang, Fault::none);
    int pieces = 0;
    const ServedGeneration run =
        generate_on_server({server.url(), ServerEngine::sglang, ""}, model_, "The router sends",
                           few_tokens(), [&](const std::string&) { ++pieces; });
    const json asked = server.last_completion_request();
    QVERIFY(asked["return_routed_experts"] == true && asked["stream"] == true);
    QCOMPARE(pieces, 5);  // one per token as it came
    QVERIFY(run.snapshot.incomplete.empty());
    // SGLang: the last sampled token never ran through the model, so it has no routing.
    check_served_routing(run.snapshot, 5, int(run.snapshot.tokens.size()) - 1);
  }

  // The contract server's vLLM stream carries no routing, as vLLM documents; read
  // with the stream parser, it is refused naming the flag, like a server without it.
  void vllmStreamHasNoRouting() {
    ContractServer server(ServerEngine::vllm, Fault::none);
    HttpRequest request;
    request.url = server.url() + "/v1/completions";
    request.json_body = json({{"model", "tiny"},
                              {"prompt", "Hi"},
                              {"max_tokens", 3},
                              {"stream", true},
                              {"return_token_ids", true}})
                            .dump();
    CompletionStream stream(model_.config, "stream");
    SseParser parser;
    const HttpResult result = http_request(request, [&](std::string_view bytes) {
      parser.feed(bytes, [&](std::string_view data) { stream.add_event(data); });
    });
    QCOMPARE(result.status, 200L);
    QVERIFY(stream.done());
    QCOMPARE(stream.completion().output_ids.size(), std::size_t(3));
    QVERIFY(!stream.completion().routing);
  }

  void refusals_data() {
    QTest::addColumn<int>("engine");
    QTest::addColumn<int>("fault");
    QTest::addColumn<QString>("message");
    const int vllm = int(ServerEngine::vllm), sglang = int(ServerEngine::sglang);
    QTest::newRow("vllm 401") << vllm << int(Fault::unauthorized)
                              << "/v1/models: HTTP 401: the server refused the credentials "
                                 "(give its API key, e.g. --api-key-env VAR): Unauthorized";
    QTest::newRow("sglang 401") << sglang << int(Fault::unauthorized) << "HTTP 401";
    QTest::newRow("vllm capture off") << vllm << int(Fault::no_capture)
                                      << "no routed experts in the answer: start the server with "
                                         "--enable-return-routed-experts (vllm)";
    QTest::newRow("sglang capture off")
        << sglang << int(Fault::no_capture)
        << "start the server with --enable-return-routed-experts (sglang)";
    QTest::newRow("vllm bad expert")
        << vllm << int(Fault::bad_expert)
        << "routed_experts[0][0]: expert 99 out of range (16 routed experts)";
    QTest::newRow("sglang bad expert")
        << sglang << int(Fault::bad_expert)
        << "routed_experts[0][1]: expert 99 out of range (16 routed experts)";
    QTest::newRow("vllm ragged")
        << vllm << int(Fault::truncated_routing)
        << "choices[0].routed_experts[4][1]: 3 experts, expected 4 as in the first row";
    QTest::newRow("sglang truncated")
        << sglang << int(Fault::truncated_routing)
        << "sglext.routed_experts: 573 bytes, not whole tokens of 3 layers x 4 experts as int32 "
           "(truncated?)";
  }

  void refusals() {
    QFETCH(int, engine);
    QFETCH(int, fault);
    QFETCH(QString, message);
    ContractServer server{ServerEngine(engine), Fault(fault)};
    QVERIFY_CONTAINS(engine_error_of([&] {
                       generate_on_server({server.url(), ServerEngine(engine), ""}, model_,
                                          "The router sends", few_tokens(), {});
                     }),
                     message);
  }

  void wrongModelNameListsTheServed() {
    ContractServer server(ServerEngine::vllm, Fault::none);
    ServedModel other = load_served_model(model_dir, "deepseek-v3");
    QVERIFY_CONTAINS(
        engine_error_of([&] {
          generate_on_server({server.url(), ServerEngine::vllm, ""}, other, "Hi", few_tokens(), {});
        }),
        "the server does not serve \"deepseek-v3\" (it serves: tiny)");
  }

  void unreachableAndTls() {
    int port = 0;
    {
      ContractServer gone(ServerEngine::vllm, Fault::none);
      port = gone.port();
    }
    const std::string closed = "http://127.0.0.1:" + std::to_string(port);
    QVERIFY_CONTAINS(engine_error_of([&] {
                       served_models({closed, ServerEngine::vllm, ""});
                     }),
                     "/v1/models: the server is unreachable");
    ContractServer plain(ServerEngine::vllm, Fault::none);
    const std::string https = "https://127.0.0.1:" + std::to_string(plain.port());
    QVERIFY_CONTAINS(engine_error_of([&] {
                       served_models({https, ServerEngine::vllm, ""});
                     }),
                     "TLS failed");
  }

  void droppedStreamKeepsThePartialRun() {
    ContractServer server(ServerEngine::sglang, Fault::drop_mid_stream);
    ServedGeneration run;
    const std::string error = engine_error_of([&] {
      run = generate_on_server({server.url(), ServerEngine::sglang, ""}, model_, "The router sends",
                               few_tokens(), {});
    });
    QVERIFY2(error == "<no EngineError thrown>", error.c_str());
    QCOMPARE(run.generated_tokens, 2);
    QVERIFY_CONTAINS(run.snapshot.incomplete, "the connection dropped after 2 generated tokens");
    QVERIFY_CONTAINS(run.snapshot.incomplete, "so these tokens have none");
    check_served_routing(run.snapshot, 2, 0);
    QCOMPARE(prompt_tokens(run.snapshot) + 2, int(run.snapshot.tokens.size()));
  }

  // Cancel as the first token shows: the run returns before the next one would have
  // (250 ms later), marked cancelled, with the token that came.
  void cancelWithinOneToken() {
    ContractServer server(ServerEngine::sglang, Fault::slow_stream);
    std::atomic<bool> cancel = false;
    const auto start = std::chrono::steady_clock::now();
    const ServedGeneration run = generate_on_server(
        {server.url(), ServerEngine::sglang, ""}, model_, "The router sends", few_tokens(40),
        [&](const std::string&) { cancel = true; }, &cancel);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Uncancelled, the 40 tokens would take 10 s.
    QVERIFY2(seconds < 1.5 * sanitizer_slowdown, qPrintable(QString("took %1 s").arg(seconds)));
    QCOMPARE(run.generated_tokens, 1);
    QVERIFY_CONTAINS(run.snapshot.incomplete, "cancelled after 1 generated tokens");
  }

  // Cancel while the server has sent nothing yet (it thinks for 2 s): libcurl's progress
  // callback sees it within a second.
  void cancelWhileTheServerIsSilent() {
    ContractServer server(ServerEngine::vllm, Fault::silent);
    std::atomic<bool> cancel = false;
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      cancel = true;
    });
    const auto start = std::chrono::steady_clock::now();
    const std::string error = engine_error_of([&] {
      generate_on_server({server.url(), ServerEngine::vllm, ""}, model_, "Hi", few_tokens(), {},
                         &cancel);
    });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    canceller.join();
    QVERIFY_CONTAINS(error, "/v1/completions: cancelled before the server answered");
    QVERIFY2(seconds < 1.5 * sanitizer_slowdown, qPrintable(QString("took %1 s").arg(seconds)));
  }
};

QTEST_GUILESS_MAIN(TestServedGeneration)
#include "test_served_generation.moc"
