// Completion responses as vLLM and SGLang document them (docs/REMOTE.md) read into
// routing records, the failures named, and the round trip: a local run written in
// each server's form and read back has the same tokens and expert ids.
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>
#include <numeric>

#include "core/json.h"
#include "cpu/cpu_backend.h"
#include "io/run_snapshot.h"
#include "model/model.h"
#include "run/generator.h"
#include "run/routing_stats.h"
#include "support/expect_error.h"
#include "wire/completion.h"
#include "wire/server_files.h"
#include "wire/server_routing.h"

using namespace moescope;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// DeepSeekMoE, 3 layers: layer 0 dense, MoE layers 1 and 2, top-4 of 16, vocabulary 512.
const fs::path model_dir = fs::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32";

ServedModel served(bool with_tokenizer = true) {
  if (with_tokenizer) return load_served_model(model_dir, "tiny");
  QTemporaryDir dir;
  fs::copy_file(model_dir / "config.json", fs::path(dir.path().toStdString()) / "config.json");
  return load_served_model(fs::path(dir.path().toStdString()) / "config.json", "tiny");
}

// Row t: experts t, t+1, t+2, t+3 (mod 16), layer l adds 8 l.
json rows(int first, int count, int layers) {
  json out = json::array();
  for (int t = first; t < first + count; ++t) {
    json token = json::array();
    for (int l = 0; l < layers; ++l) {
      json row = json::array();
      for (int k = 0; k < 4; ++k) row.push_back((t + k + 8 * l) % 16);
      token.push_back(row);
    }
    out.push_back(token);
  }
  return out;
}

// vLLM 0.21: prompt_routed_experts at the top, the generated tokens' on the choice.
json vllm_response() {
  return {{"object", "text_completion"},
          {"prompt_routed_experts", rows(0, 3, 2)},
          {"choices",
           {{{"index", 0},
             {"text", " abc"},
             {"prompt_token_ids", {5, 6, 7}},
             {"token_ids", {8, 9}},
             {"routed_experts", rows(3, 1, 2)},  // the last sampled token never ran
             {"finish_reason", "length"}}}}};
}

// SGLang: the whole sequence less its last token, every layer, int32 in base64.
json sglang_response() {
  json body = vllm_response();
  body.erase("prompt_routed_experts");
  body["choices"][0].erase("routed_experts");
  json all = rows(0, 4, 3);
  for (json& token : all) token[0] = json::array({0, 0, 0, 0});  // the dense layer, unwritten
  RoutedExperts experts = routed_experts_from_nested(all, "all");
  body["sglext"] = {{"routed_experts", routed_experts_to_int32_base64(experts)}};
  return body;
}

void check_routing(const RoutingSnapshot& snapshot) {
  QCOMPARE(snapshot.tokens.size(), std::size_t(5));
  QVERIFY(snapshot.routing_detail == RoutingDetail::ids_only);
  for (int t = 0; t < 5; ++t) {
    const TokenRouting& routing = snapshot.tokens[t].routing;
    QCOMPARE(routing.token_id, 5 + t);
    QCOMPARE(routing.is_prompt, t < 3);
    if (t == 4) {
      QVERIFY(routing.layers.empty());  // no routing for the last token: none, not zeros
      continue;
    }
    QCOMPARE(routing.layers.size(), std::size_t(2));
    for (int m = 0; m < 2; ++m) {
      QCOMPARE(routing.layers[m].layer, m + 1);
      QVERIFY(routing.layers[m].detail == RoutingDetail::ids_only);
      QVERIFY(routing.layers[m].scores.empty() && routing.layers[m].gate_weights.empty());
      // vLLM's row m is MoE layer m; SGLang's row m + 1 is layer m + 1: the same ids.
      const int offset = 8 * m + (snapshot.backend == "sglang" ? 8 : 0);
      for (int k = 0; k < 4; ++k) QCOMPARE(routing.layers[m].expert_ids[k], (t + k + offset) % 16);
    }
  }
}

}  // namespace

class TestServerResponses : public QObject {
  Q_OBJECT

 private slots:
  void readsVllmNestedLists() {
    const ServedModel model = served();
    const ServerCompletion completion = completion_from_json(vllm_response(), model.config, "r");
    QVERIFY(completion.routing.has_value());
    QCOMPARE(completion.routing->tokens, 4);
    const RoutingSnapshot snapshot =
        snapshot_from_completion(completion, model, {ServerEngine::vllm, "", {}, ""}, "r");
    QCOMPARE(snapshot.backend, std::string("vllm"));
    check_routing(snapshot);
    QCOMPARE(snapshot.generated_text, std::string(" abc"));
    QVERIFY(!snapshot.prompt.empty());  // decoded by the folder's tokenizer

    // Loads count ids_only records (4 tokens of 5 have routing) and sum no weights.
    std::vector<TokenRouting> traces;
    for (const SnapshotToken& token : snapshot.tokens) traces.push_back(token.routing);
    const std::vector<LayerLoad> loads = expert_load(traces, 16);
    QCOMPARE(loads.size(), std::size_t(2));
    QCOMPARE(loads[0].tokens, 4);
    QCOMPARE(std::accumulate(loads[0].counts.begin(), loads[0].counts.end(), 0), 16);
    QCOMPARE(std::accumulate(loads[0].gate_weight.begin(), loads[0].gate_weight.end(), 0.0), 0.0);
  }

  void readsVllmNpyOfTheWholeSequence() {
    json body = vllm_response();
    body.erase("prompt_routed_experts");
    body["choices"][0]["routed_experts"] =
        routed_experts_to_npy_base64(routed_experts_from_nested(rows(0, 4, 2), "r"));
    const ServedModel model = served();
    check_routing(snapshot_from_completion(completion_from_json(body, model.config, "r"), model,
                                           {ServerEngine::vllm, "", {}, ""}, "r"));
  }

  void readsSGLangCompletionsAndGenerate() {
    const ServedModel model = served();
    const ServedRun run{ServerEngine::sglang, "", {}, ""};
    check_routing(snapshot_from_completion(
        completion_from_json(sglang_response(), model.config, "r"), model, run, "r"));

    const json openai = sglang_response();
    const json native = {{"text", " abc"},
                         {"output_ids", {8, 9}},
                         {"prompt_token_ids", {5, 6, 7}},
                         {"meta_info",
                          {{"routed_experts", openai["sglext"]["routed_experts"]},
                           {"finish_reason", {{"type", "length"}}}}}};
    QVERIFY(engine_of_response(native) == ServerEngine::sglang);
    QVERIFY(engine_of_response(vllm_response()) == ServerEngine::vllm);
    const ServerCompletion completion = completion_from_json(native, model.config, "r");
    QCOMPARE(completion.finish_reason, std::string("length"));
    check_routing(snapshot_from_completion(completion, model, run, "r"));
  }

  void tokenTextsWithoutATokenizer() {
    json body = vllm_response();
    body["choices"][0]["logprobs"] = {{"tokens", {" a", "bc"}}};
    const ServedModel model = served(false);
    const RoutingSnapshot snapshot =
        snapshot_from_completion(completion_from_json(body, model.config, "r"), model,
                                 {ServerEngine::vllm, "", {}, ""}, "r");
    QCOMPARE(snapshot.tokens[0].text, std::string("\u27e85\u27e9"));
    QCOMPARE(snapshot.tokens[3].text, std::string(" a"));
    QCOMPARE(snapshot.tokens[4].text, std::string("bc"));
  }

  void namesWhatIsWrong() {
    const ServedModel model = served();
    const ServedRun run{ServerEngine::vllm, "", {}, ""};
    json body = vllm_response();
    body["choices"][0].erase("routed_experts");
    body.erase("prompt_routed_experts");
    QVERIFY_CONTAINS(engine_error_of([&] {
                       snapshot_from_completion(completion_from_json(body, model.config, "r"),
                                                model, run, "r");
                     }),
                     "r: no routed experts in the answer: start the server with "
                     "--enable-return-routed-experts (vllm) to capture them");

    body = vllm_response();
    body["choices"][0]["routed_experts"][0][1][2] = 16;
    QVERIFY_CONTAINS(engine_error_of([&] {
                       snapshot_from_completion(completion_from_json(body, model.config, "r"),
                                                model, run, "r");
                     }),
                     "r: routed_experts[3][1]: expert 16 out of range (16 routed experts)");

    body = vllm_response();
    body["choices"][0]["routed_experts"][0][1][2] = body["choices"][0]["routed_experts"][0][1][0];
    QVERIFY_CONTAINS(engine_error_of([&] {
                       snapshot_from_completion(completion_from_json(body, model.config, "r"),
                                                model, run, "r");
                     }),
                     "chosen twice");

    body = vllm_response();
    body["prompt_routed_experts"] = rows(0, 3, 5);
    body["choices"][0]["routed_experts"] = rows(3, 1, 5);
    QVERIFY_CONTAINS(engine_error_of([&] {
                       snapshot_from_completion(completion_from_json(body, model.config, "r"),
                                                model, run, "r");
                     }),
                     "5 layers per token, but the model has 3 layers, 2 of them MoE");

    body = vllm_response();
    body["prompt_routed_experts"] = rows(0, 2, 2);
    QVERIFY_CONTAINS(engine_error_of([&] { completion_from_json(body, model.config, "r"); }),
                     "r: prompt_routed_experts: 2 tokens, but the prompt has 3");

    body = vllm_response();
    body["choices"][0].erase("token_ids");
    QVERIFY_CONTAINS(engine_error_of([&] { completion_from_json(body, model.config, "r"); }),
                     "\"return_token_ids\": true");

    body = sglang_response();
    std::string text = body["sglext"]["routed_experts"];
    body["sglext"]["routed_experts"] = text.substr(0, text.size() - 8);
    QVERIFY_CONTAINS(engine_error_of([&] { completion_from_json(body, model.config, "r"); }),
                     "r: sglext.routed_experts:");

    QVERIFY_CONTAINS(engine_error_of([&] {
                       completion_from_json(
                           json::parse(R"({"object": "error", "message": "model not found"})"),
                           model.config, "r");
                     }),
                     "r: the server answered with an error: model not found");
  }

  void assemblesAnSGLangStream() {
    const ServedModel model = served();
    const json last = sglang_response();
    CompletionStream stream(model.config, "stream");
    QVERIFY(stream.add_event(R"({"choices": [{"index": 0, "text": " a", "token_ids": [8],
        "prompt_token_ids": [5, 6, 7], "finish_reason": null}]})") == std::vector<int>{8});
    QVERIFY(stream.add_event(R"({"choices": [{"index": 0, "text": "bc", "token_ids": [9],
        "finish_reason": "length"}]})") == std::vector<int>{9});
    QVERIFY(!stream.completion().routing);
    stream.add_event(json({{"choices", json::array()}, {"sglext", last["sglext"]}}).dump());
    QVERIFY(stream.add_event("[DONE]").empty());
    QVERIFY(stream.done());
    QCOMPARE(stream.completion().text, std::string(" abc"));
    check_routing(snapshot_from_completion(stream.completion(), model,
                                           {ServerEngine::sglang, "", {}, ""}, "stream"));

    CompletionStream failing(model.config, "stream");
    QVERIFY_CONTAINS(engine_error_of([&] {
                       failing.add_event(R"({"error": {"message": "out of memory", "code": 500}})");
                     }),
                     "stream (event 1): the server answered with an error: out of memory");
    CompletionStream broken(model.config, "stream");
    QVERIFY_CONTAINS(
        engine_error_of([&] { broken.add_event(R"({"choices": [{"token_ids": [-3]}]})"); }),
        "stream (event 1): choices[0].token_ids[0]: expected a token id, got -3");
  }

  // A local run of the fixture model, written as each server would answer and read
  // back: the same token ids, prompt flags and expert ids, best first.
  void localRunSurvivesBothServerForms() {
    const auto model = Model::load(model_dir);
    CpuBackend backend(*model);
    const auto tokenizer = load_tokenizer(model_dir);
    Generator generator(backend, *tokenizer, model->config());
    GenerationRequest request;
    request.prompt = "The router sends";
    request.sampling.max_tokens = 6;
    const GenerationResult result = generator.generate(request);
    const RoutingSnapshot local = make_run_snapshot(*model, "cpu", request, result);
    const ServedModel served_model = served();
    for (const ServerEngine engine : {ServerEngine::vllm, ServerEngine::sglang}) {
      const json body = json::parse(completion_from_snapshot(local, engine).dump());
      QVERIFY(engine_of_response(body) == engine);
      const RoutingSnapshot back = snapshot_from_completion(
          completion_from_json(body, served_model.config, "file"), served_model,
          {engine, local.prompt, local.sampling, ""}, "file");
      QCOMPARE(back.tokens.size(), local.tokens.size());
      for (std::size_t t = 0; t < local.tokens.size(); ++t) {
        const TokenRouting& a = back.tokens[t].routing;
        const TokenRouting& e = local.tokens[t].routing;
        QCOMPARE(a.token_id, e.token_id);
        QCOMPARE(a.is_prompt, e.is_prompt);
        QCOMPARE(back.tokens[t].text, local.tokens[t].text);
        QCOMPARE(a.layers.size(), e.layers.size());
        for (std::size_t l = 0; l < a.layers.size(); ++l) {
          QCOMPARE(a.layers[l].layer, e.layers[l].layer);
          QVERIFY(a.layers[l].expert_ids == e.layers[l].expert_ids);
        }
      }
      QCOMPARE(back.generated_text, local.generated_text);
    }
    RoutingSnapshot changed = local;
    changed.interventions.top_k = 2;
    QVERIFY_CONTAINS(
        engine_error_of([&] { completion_from_snapshot(changed, ServerEngine::vllm); }),
        "cannot be written as one");
  }
};

QTEST_GUILESS_MAIN(TestServerResponses)
#include "test_server_responses.moc"
