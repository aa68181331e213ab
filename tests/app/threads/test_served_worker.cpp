// A served model through the window's controller: File ▸ Connect to Server's
// job against the loopback contract server (tests/contract), Generate on its
// worker thread, the run streamed into the same RoutingDocument as a local one
// (ids only), the engine-only requests refused, a dropped stream kept and
// marked, cancel within one token, the GUI thread never waiting on the server.
#include <QSignalSpy>
#include <QTest>
#include <chrono>

#include "contract/contract_server.h"
#include "core/error.h"
#include "document/routing_document.h"
#include "support/lateness_probe.h"
#include "threads/inference_controller.h"
#include "threads/served_worker.h"

using moescope::ServerEngine;
using moescope::test::ContractServer;
using moescope::test::Fault;

namespace {

const QString fixtureConfig =
    QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32/config.json");
constexpr int timeoutMs = 30000;

ServerJob jobFor(const ContractServer& server, const QString& engine, const QString& key = {}) {
  ServerJob job;
  job.url = QString::fromStdString(server.url());
  job.engine = engine;
  job.model = QStringLiteral("tiny");
  job.configPath = fixtureConfig;
  job.apiKey = key;
  return job;
}

GenerationJob plainRun(int maxTokens) {
  GenerationJob job;
  job.prompt = QStringLiteral("The router sends");
  job.sampling.max_tokens = maxTokens;
  job.tag = QStringLiteral("run");
  return job;
}

int promptTokens(const RoutingDocument& document) {
  int n = 0;
  for (const moescope::SnapshotToken& token : document.snapshot().tokens)
    n += token.routing.is_prompt;
  return n;
}

}  // namespace

class TestServedWorker : public QObject {
  Q_OBJECT

  RoutingDocument document_;

  // Connects `controller` to `job`'s server; the summary it loaded.
  static ModelSummary connected(InferenceController& controller, const ServerJob& job) {
    QSignalSpy loaded(&controller, &InferenceController::modelLoaded);
    if (!controller.connectServer(job) ||
        !QTest::qWaitFor([&] { return !loaded.isEmpty(); }, timeoutMs))
      return {};
    return loaded.first().first().value<ModelSummary>();
  }

  static RunStats runToEnd(InferenceController& controller, const GenerationJob& job) {
    QSignalSpy finished(&controller, &InferenceController::runFinished);
    if (!controller.generate(job) ||
        !QTest::qWaitFor([&] { return !finished.isEmpty(); }, timeoutMs))
      return {};
    return finished.first().first().value<RunStats>();
  }

  // The document holds what the contract server sent: prompt and generated ids,
  // both MoE layers' expert ids, no scores; the last `unrouted` tokens none.
  void checkServedDocument(int generated, int unrouted) {
    const moescope::RoutingSnapshot& snapshot = document_.snapshot();
    QVERIFY(snapshot.routing_detail == moescope::RoutingDetail::ids_only);
    const int prompt = promptTokens(document_);
    QVERIFY(prompt > 0);
    QCOMPARE(document_.tokenCount(), prompt + generated);
    for (int t = 0; t < document_.tokenCount(); ++t) {
      const moescope::TokenRouting& routing = snapshot.tokens[t].routing;
      if (t >= prompt)
        QCOMPARE(routing.token_id, moescope::test::contract_first_output_id + t - prompt);
      if (t >= document_.tokenCount() - unrouted) {
        QVERIFY(routing.layers.empty());
        continue;
      }
      QCOMPARE(routing.layers.size(), std::size_t(2));
      for (int m = 0; m < 2; ++m) {
        QVERIFY(routing.layers[m].scores.empty());
        for (int k = 0; k < 4; ++k)
          QCOMPARE(routing.layers[m].expert_ids[k], moescope::test::contract_expert(t, m, k));
      }
    }
  }

 private slots:
  void modelsListedOffTheServer() {
    ContractServer server(ServerEngine::vllm, Fault::none, "secret");
    QCOMPARE(fetchServedModels(jobFor(server, QStringLiteral("vllm"), QStringLiteral("secret"))),
             QStringList{QStringLiteral("tiny")});
    try {
      fetchServedModels(jobFor(server, QStringLiteral("vllm")));
      QFAIL("a server that wants a key answered without one");
    } catch (const moescope::EngineError& e) {
      QVERIFY(QString::fromUtf8(e.what()).contains(QStringLiteral("HTTP 401")));
    }
  }

  void vllmRunFillsTheDocument() {
    ContractServer server(ServerEngine::vllm, Fault::none, "secret");
    InferenceController controller(&document_);
    const ModelSummary summary =
        connected(controller, jobFor(server, QStringLiteral("vllm"), QStringLiteral("secret")));
    QVERIFY(controller.server().has_value());
    QVERIFY(summary.backendName.contains(QString::fromStdString(server.url())));
    QVERIFY(summary.name.startsWith(QStringLiteral("tiny on vLLM at ")));
    QCOMPARE(summary.config.n_routed_experts, 16);
    const RunStats stats = runToEnd(controller, plainRun(5));
    QCOMPARE(stats.generatedTokens, 5);
    QCOMPARE(stats.stopReason, QStringLiteral("length"));
    QVERIFY(server.last_completion_request()["max_tokens"] == 5);
    checkServedDocument(5, 0);
    QVERIFY(document_.snapshot().incomplete.empty());
  }

  // SGLang streams the text first; its routing comes with the last event.
  void sglangStreamsTextThenRouting() {
    ContractServer server(ServerEngine::sglang, Fault::none);
    InferenceController controller(&document_);
    connected(controller, jobFor(server, QStringLiteral("sglang")));
    QSignalSpy text(&controller, &InferenceController::servedTextArrived);
    const RunStats stats = runToEnd(controller, plainRun(5));
    QCOMPARE(stats.generatedTokens, 5);
    QCOMPARE(text.count(), 5);
    QVERIFY(QString::fromStdString(document_.snapshot().generated_text)
                .startsWith(text.last().first().toString()));
    checkServedDocument(5, 1);  // the last sampled token never ran through the model
  }

  void engineOnlyRequestsRefused() {
    ContractServer server(ServerEngine::vllm, Fault::none);
    InferenceController controller(&document_);
    connected(controller, jobFor(server, QStringLiteral("vllm")));
    QSignalSpy failed(&controller, &InferenceController::runFailed);
    GenerationJob switched = plainRun(3);
    switched.interventions.disabled_experts.insert({1, 3});
    QVERIFY(controller.generate(switched));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, timeoutMs);
    QVERIFY(failed.first().first().toString().contains(
        QStringLiteral("switching experts off needs the local engine")));
    GenerationJob chat = plainRun(3);
    chat.chat = true;
    QVERIFY(controller.generate(chat));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, timeoutMs);
    QVERIFY(failed.last().first().toString().contains(QStringLiteral("needs the local engine")));
    QVERIFY(server.last_completion_request().is_null());  // nothing reached the server
  }

  void connectFailuresKeepNoServer() {
    ContractServer server(ServerEngine::vllm, Fault::none, "secret");
    InferenceController controller(&document_);
    QSignalSpy failed(&controller, &InferenceController::loadFailed);
    ServerJob other = jobFor(server, QStringLiteral("vllm"), QStringLiteral("secret"));
    other.model = QStringLiteral("deepseek-v3");
    QVERIFY(controller.connectServer(other));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, timeoutMs);
    QVERIFY(failed.first().first().toString().contains(QStringLiteral("it serves: tiny")));
    QVERIFY(controller.connectServer(jobFor(server, QStringLiteral("vllm"))));  // no key
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, timeoutMs);
    QVERIFY(failed.last().first().toString().contains(QStringLiteral("HTTP 401")));
    ServerJob noConfig = jobFor(server, QStringLiteral("vllm"), QStringLiteral("secret"));
    noConfig.configPath.clear();
    QVERIFY(controller.connectServer(noConfig));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 3, timeoutMs);
    QVERIFY(failed.last().first().toString().contains(QStringLiteral("config.json")));
    QVERIFY(!controller.server() && !controller.model());
  }

  void droppedStreamKeptAndMarked() {
    ContractServer server(ServerEngine::sglang, Fault::drop_mid_stream);
    InferenceController controller(&document_);
    connected(controller, jobFor(server, QStringLiteral("sglang")));
    const RunStats stats = runToEnd(controller, plainRun(6));
    QCOMPARE(stats.generatedTokens, 2);
    QVERIFY(stats.stopReason.contains(QStringLiteral("the connection dropped")));
    QVERIFY(QString::fromStdString(document_.snapshot().incomplete)
                .contains(QStringLiteral("the connection dropped after 2 generated tokens")));
    QCOMPARE(document_.tokenCount(), promptTokens(document_) + 2);
  }

  // A token every 250 ms: Stop after the first ends the run at once, the token kept;
  // meanwhile the GUI thread keeps its event loop turning.
  void cancelWithinOneTokenGuiResponsive() {
    ContractServer server(ServerEngine::sglang, Fault::slow_stream);
    InferenceController controller(&document_);
    connected(controller, jobFor(server, QStringLiteral("sglang")));
    QSignalSpy finished(&controller, &InferenceController::runFinished);
    connect(&controller, &InferenceController::servedTextArrived, &controller,
            &InferenceController::cancel);
    LatenessProbe probe;
    probe.start();
    const auto start = std::chrono::steady_clock::now();
    QVERIFY(controller.generate(plainRun(40)));  // 10 s uncancelled
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, timeoutMs);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    QVERIFY2(seconds < 3.0, qPrintable(QString::number(seconds)));
    QCOMPARE(finished.first().first().value<RunStats>().stopReason, QStringLiteral("cancelled"));
    QVERIFY(QString::fromStdString(document_.snapshot().incomplete)
                .contains(QStringLiteral("cancelled after 1 generated tokens")));
    QVERIFY2(probe.worstMs() < 200, qPrintable(QString::number(probe.worstMs())));
  }

  // Loading a local model afterwards makes Generate local again.
  void localModelReplacesTheServer() {
    ContractServer server(ServerEngine::vllm, Fault::none);
    InferenceController controller(&document_);
    connected(controller, jobFor(server, QStringLiteral("vllm")));
    QVERIFY(controller.server());
    QSignalSpy loaded(&controller, &InferenceController::modelLoaded);
    QVERIFY(controller.loadModel(QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32"),
                                 QStringLiteral("cpu")));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, timeoutMs);
    QVERIFY(!controller.server());
    const RunStats stats = runToEnd(controller, plainRun(2));
    QCOMPARE(stats.generatedTokens, 2);
    QVERIFY(server.last_completion_request().is_null());
    QVERIFY(document_.snapshot().routing_detail == moescope::RoutingDetail::full);
  }
};

QTEST_GUILESS_MAIN(TestServedWorker)
#include "test_served_worker.moc"
