// The routing analyses on a served model: a local model's own routing served
// through the loopback contract server (both engines' formats) gives the same
// results as the analyses run here; the loss-based experiments are refused; the
// rate limit spaces the requests; cancel stops between them; a server without
// routing capture is named.
#include <QTest>
#include <atomic>
#include <chrono>
#include <filesystem>

#include "analysis/experiments.h"
#include "contract/contract_server.h"
#include "cpu/cpu_backend.h"
#include "model/model.h"
#include "remote/served_routing_source.h"
#include "support/expect_error.h"

using namespace moescope;
using namespace moescope::test;
namespace fs = std::filesystem;

namespace {

const fs::path model_dir = fs::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32";

std::vector<LabelledText> texts() {
  return {{"prose",
           {"The router sends each token to a few experts, and the experts learn.",
            "Shared experts see every token; routed experts see only some."}},
          {"code", {"def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n"}}};
}

ExperimentSettings small_settings() {
  ExperimentSettings s;
  s.eval.tokens_per_label = 40;
  s.eval.window = 16;  // two windows of each text
  return s;
}

constexpr int windows_in_texts = 4;

}  // namespace

class TestServedExperiments : public QObject {
  Q_OBJECT

  std::unique_ptr<Model> model_ = Model::load(model_dir);
  CpuBackend backend_{*model_};
  std::unique_ptr<Tokenizer> tokenizer_ = load_tokenizer(model_dir);
  ModelUnderTest local_{"dense-lead-f32", backend_, *tokenizer_, model_->config()};
  // Named as the local model so that the results compare whole; the contract
  // server answers completions for any name.
  ServedModel served_ = load_served_model(model_dir, "dense-lead-f32");

  // What the local model routes for `ids`: the contract server reports these.
  std::vector<std::vector<std::vector<int>>> local_routing(const std::vector<int>& ids) {
    std::vector<int> stream = ids;
    stream.push_back(ids.back());  // the window's next-token target, not routed
    WorkMeter meter(0);
    const Evaluation e = BackendRoutingSource(local_).route(
        {{"window", stream}}, {int(ids.size()), int(ids.size()), false}, meter);
    std::vector<std::vector<std::vector<int>>> out;
    for (const TokenRouting& token : e.labels.at(0).routing) {
      auto& layers = out.emplace_back();
      for (const LayerRouting& layer : token.layers) layers.push_back(layer.expert_ids);
    }
    return out;
  }

 private slots:
  void sameResultsAsLocal_data() {
    QTest::addColumn<QString>("experiment");
    QTest::addColumn<bool>("sglang");
    for (const char* name : {"specialisation", "coactivation", "locality", "vocabulary"}) {
      QTest::newRow((std::string(name) + " vllm").c_str()) << QString(name) << false;
      QTest::newRow((std::string(name) + " sglang").c_str()) << QString(name) << true;
    }
  }

  void sameResultsAsLocal() {
    QFETCH(QString, experiment);
    QFETCH(bool, sglang);
    const ServerEngine engine = sglang ? ServerEngine::sglang : ServerEngine::vllm;
    const std::string name = experiment.toStdString();
    const ExperimentResult here = run_experiment(name, {local_}, texts(), small_settings());
    auto server = std::make_unique<ContractServer>(
        engine, Fault::none, "",
        [this](const std::vector<int>& ids) { return local_routing(ids); });
    ServedRoutingSource source({server->url(), engine, ""}, served_, 0.0, nullptr);
    const ExperimentResult there =
        run_routing_experiment(name, {&source}, texts(), small_settings());
    QCOMPARE(source.requests(), windows_in_texts);
    QCOMPARE(server->completion_requests(), windows_in_texts);
    const auto asked = server->last_completion_request();
    QVERIFY(asked["prompt"].is_array() && asked["prompt"].size() == 16);  // token ids
    QCOMPARE(to_json(there).dump(), to_json(here).dump());
    QVERIFY(!there.findings.empty());
  }

  // The contract server's own routing is not the local model's: the comparison
  // above can tell them apart.
  void otherRoutingGivesOtherResults() {
    const ExperimentResult here =
        run_experiment("specialisation", {local_}, texts(), small_settings());
    ContractServer server(ServerEngine::vllm, Fault::none);
    ServedRoutingSource source({server.url(), ServerEngine::vllm, ""}, served_, 0.0, nullptr);
    const ExperimentResult there =
        run_routing_experiment("specialisation", {&source}, texts(), small_settings());
    QVERIFY(to_json(there).dump() != to_json(here).dump());
  }

  void lossExperimentsNeedTheEngine() {
    ContractServer server(ServerEngine::vllm, Fault::none);
    ServedRoutingSource source({server.url(), ServerEngine::vllm, ""}, served_, 0.0, nullptr);
    for (const ExperimentInfo& info : experiment_catalogue()) {
      if (!info.needs_engine) continue;
      QVERIFY_CONTAINS(engine_error_of([&] {
                         run_routing_experiment(info.name, {&source}, texts(), small_settings());
                       }),
                       "which needs the local engine");
    }
    QCOMPARE(server.completion_requests(), 0);
    int routing_only = 0;
    for (const ExperimentInfo& info : experiment_catalogue()) routing_only += !info.needs_engine;
    QCOMPARE(routing_only, 4);
  }

  void rateLimitSpacesRequests() {
    ContractServer server(ServerEngine::vllm, Fault::none);
    ServedRoutingSource source({server.url(), ServerEngine::vllm, ""}, served_, 0.15, nullptr);
    const auto start = std::chrono::steady_clock::now();
    run_routing_experiment("locality", {&source}, texts(), small_settings());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    QCOMPARE(server.completion_requests(), windows_in_texts);
    QVERIFY2(seconds >= 0.15 * (windows_in_texts - 1), qPrintable(QString::number(seconds)));
  }

  void cancelStopsBetweenRequests() {
    ContractServer server(ServerEngine::vllm, Fault::none);
    std::atomic<bool> cancel = false;
    ServedRoutingSource source({server.url(), ServerEngine::vllm, ""}, served_, 0.0, &cancel);
    long last_done = 0;
    QVERIFY_CONTAINS(engine_error_of([&] {
                       run_routing_experiment(
                           "coactivation", {&source}, texts(), small_settings(),
                           [&](long done, long) { last_done = done, cancel = true; }, &cancel);
                     }),
                     "cancelled");
    QCOMPARE(last_done, 16L);  // one window's tokens
    QCOMPARE(server.completion_requests(), 1);
  }

  void serverWithoutCaptureNamed() {
    ContractServer server(ServerEngine::sglang, Fault::no_capture);
    ServedRoutingSource source({server.url(), ServerEngine::sglang, ""}, served_, 0.0, nullptr);
    QVERIFY_CONTAINS(engine_error_of([&] {
                       run_routing_experiment("locality", {&source}, texts(), small_settings());
                     }),
                     "--enable-return-routed-experts");
  }

  void tokenizerRequired() {
    ServedModel bare = load_served_model(model_dir, "bare");
    bare.tokenizer.reset();
    QVERIFY_CONTAINS(
        engine_error_of([&] {
          ServedRoutingSource({"http://127.0.0.1:1", ServerEngine::vllm, ""}, bare, 0.0, nullptr);
        }),
        "no tokenizer.json");
  }
};

QTEST_GUILESS_MAIN(TestServedExperiments)
#include "test_served_experiments.moc"
