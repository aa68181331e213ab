// The generation loop on the fixture model dense-lead-f32 (3 layers, layer 0
// dense, 16 routed experts top-4, 2 shared): traces, reproducible sampling,
// limits, cancel, interventions, KV-cache reset, load errors, routing
// statistics and parameter counts.
#include <QTemporaryDir>
#include <QTest>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "cpu/cpu_backend.h"
#include "model/model.h"
#include "model/model_info.h"
#include "model/safetensors.h"
#include "run/generator.h"
#include "run/routing_stats.h"
#include "support/expect_error.h"
#include "support/generated_ids.h"
#include "support/poisoned_model.h"
#include "tokenizer/tokenizer.h"

using namespace moescope;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path fixtures = MOESCOPE_FIXTURES_DIR;
const fs::path model_dir = fixtures / "models" / "dense-lead-f32";
constexpr int no_k = -1000;  // invalid_interventions: no top-k override
const char* const prompt = "The router sends each token to a few experts.";

GenerationRequest request(float temperature, std::uint64_t seed, int max_tokens) {
  GenerationRequest r;
  r.prompt = prompt;
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  r.sampling.max_tokens = max_tokens;
  return r;
}

std::vector<int> all_ids(const GenerationResult& result) {
  std::vector<int> ids;
  for (const auto& t : result.tokens) ids.push_back(t.routing.token_id);
  return ids;
}

std::vector<TokenRouting> traces(const GenerationResult& result) {
  std::vector<TokenRouting> out;
  for (const auto& t : result.tokens) out.push_back(t.routing);
  return out;
}

}  // namespace

// The real model's routing, with NaN (or infinity) written into the logits from `from` on.
class NonFiniteLogits final : public Backend {
 public:
  NonFiniteLogits(Backend& inner, int from, float value)
      : inner_(inner), from_(from), value_(value) {}
  std::span<const float> forward_batch(std::span<const int> ids, int pos0,
                                       const Interventions& interventions,
                                       std::span<TokenRouting> traces,
                                       LogitsWanted wanted) override {
    const auto logits = inner_.forward_batch(ids, pos0, interventions, traces, wanted);
    logits_.assign(logits.begin(), logits.end());
    if (pos0 + int(ids.size()) - 1 >= from_) logits_[7] = value_;
    return logits_;
  }
  void keep_hidden_states(bool on) override { inner_.keep_hidden_states(on); }
  std::span<const float> hidden_states() const override { return inner_.hidden_states(); }
  void reset() override { inner_.reset(); }
  std::string name() const override { return "non-finite"; }

 private:
  Backend& inner_;
  int from_;
  float value_;
  std::vector<float> logits_;
};

class TestGenerator : public QObject {
  Q_OBJECT

  std::unique_ptr<Model> model_;
  std::unique_ptr<CpuBackend> backend_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<Generator> generator_;

  GenerationResult run(const GenerationRequest& r) { return generator_->generate(r); }

 private slots:
  void initTestCase() {
    model_ = Model::load(model_dir);
    backend_ = std::make_unique<CpuBackend>(*model_);
    tokenizer_ = load_tokenizer(model_dir);
    generator_ = std::make_unique<Generator>(*backend_, *tokenizer_, model_->config());
    QCOMPARE(model_->config().n_routed_experts, 16);
    QCOMPARE(model_->config().num_experts_per_tok, 4);
  }

  // Prompt tokens first (flagged, positions 0..), then generated ones; every
  // token carries one routing record per MoE layer.
  void greedy_trace_structure() {
    const int n = 6;
    std::vector<GeneratedToken> seen;
    const GenerationResult result = generator_->generate(
        request(0.0f, 0, n), [&](const GeneratedToken& t) { seen.push_back(t); });
    const std::vector<int> prompt_ids = tokenizer_->encode(prompt);
    QCOMPARE(result.prompt_tokens, int(prompt_ids.size()));
    QCOMPARE(result.generated_tokens, n);
    QCOMPARE(result.stop, StopReason::max_tokens);
    QCOMPARE(int(result.tokens.size()), result.prompt_tokens + n);
    QCOMPARE(int(seen.size()), int(result.tokens.size()));  // the callback saw every token

    std::string all_text;
    for (int i = 0; i < int(result.tokens.size()); ++i) {
      const TokenRouting& r = result.tokens[i].routing;
      QCOMPARE(r.position, i);
      QCOMPARE(r.is_prompt, i < result.prompt_tokens);
      if (i < result.prompt_tokens) QCOMPARE(r.token_id, prompt_ids[i]);
      QCOMPARE(seen[i].routing.token_id, r.token_id);
      all_text += result.tokens[i].text;

      QCOMPARE(int(r.layers.size()), 2);
      for (int j = 0; j < 2; ++j) {
        const LayerRouting& l = r.layers[j];
        QCOMPARE(l.layer, j + 1);
        QCOMPARE(int(l.scores.size()), 16);
        QCOMPARE(int(l.expert_ids.size()), 4);
        QCOMPARE(int(l.gate_weights.size()), 4);
        QVERIFY(l.shared_active);
        QVERIFY(!l.mask_changed);
        double sum = 0.0;
        for (float s : l.scores) sum += s;
        QVERIFY(std::abs(sum - 1.0) < 1e-5);
        // The chosen ids are the top 4 by score, best first; weights are the raw scores.
        std::vector<int> order(16);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int a, int b) { return l.scores[a] > l.scores[b]; });
        QCOMPARE(l.expert_ids, std::vector<int>(order.begin(), order.begin() + 4));
        for (int e = 0; e < 4; ++e) QCOMPARE(l.gate_weights[e], l.scores[l.expert_ids[e]]);
      }
    }
    // The streamed pieces add up to the decoded sequence; generated_text is its tail.
    QCOMPARE(all_text, tokenizer_->decode(all_ids(result)));
    QCOMPARE(all_text, std::string(prompt) + result.generated_text);
  }

  // Greedy picks the argmax of the logits a fresh backend computes for the same sequence.
  void greedy_follows_argmax() {
    const GenerationResult result = run(request(0.0f, 0, 5));
    const std::vector<int> ids = all_ids(result);
    CpuBackend fresh(*model_);
    const Interventions none;
    for (int pos = 0; pos + 1 < int(ids.size()); ++pos) {
      const auto logits = fresh.forward(ids[pos], pos, none, nullptr);
      const int argmax = int(std::max_element(logits.begin(), logits.end()) - logits.begin());
      if (pos + 1 >= result.prompt_tokens) QCOMPARE(ids[pos + 1], argmax);
    }
  }

  // With capture_next_logits the last prompt token and every generated one
  // carry the logits the next token came from: greedy picks their argmax, and
  // they equal a fresh backend's logits at that position.
  void next_logits_are_the_ones_sampled_from() {
    GenerationRequest r = request(0.0f, 0, 4);
    r.capture_next_logits = true;
    const GenerationResult result = run(r);
    const std::vector<int> ids = all_ids(result);
    CpuBackend fresh(*model_);
    const Interventions none;
    for (int i = 0; i < int(ids.size()); ++i) {
      const auto& logits = result.tokens[i].next_logits;
      QCOMPARE(logits.empty(), i + 1 < result.prompt_tokens);
      const auto expected = fresh.forward(ids[i], i, none, nullptr);
      if (logits.empty()) continue;
      QCOMPARE(logits.size(), expected.size());
      for (std::size_t v = 0; v < logits.size(); ++v) QCOMPARE(logits[v], expected[v]);
      if (i + 1 < int(ids.size()))
        QCOMPARE(ids[i + 1], int(std::max_element(logits.begin(), logits.end()) - logits.begin()));
    }
    QVERIFY(run(request(0.0f, 0, 2)).tokens.back().next_logits.empty());  // off by default

    // A prompt of several batches: its last token alone, not each batch's last.
    GenerationRequest long_prompt = r;
    for (int i = 0; i < 30; ++i) long_prompt.prompt += std::string(" ") + prompt;
    long_prompt.sampling.max_tokens = 1;
    const GenerationResult batched = run(long_prompt);
    QVERIFY(batched.prompt_tokens > batch_tokens);
    for (int i = 0; i < batched.prompt_tokens; ++i)
      QCOMPARE(batched.tokens[i].next_logits.empty(), i + 1 < batched.prompt_tokens);
  }

  void seeded_sampling_is_reproducible() {
    const int n = 24;
    const GenerationResult a = run(request(0.8f, 1234, n));
    const GenerationResult b = run(request(0.8f, 1234, n));
    const GenerationResult c = run(request(0.8f, 99, n));
    QCOMPARE(a.generated_tokens, n);
    QCOMPARE(c.generated_tokens, n);
    QCOMPARE(generated_ids(a), generated_ids(b));
    QCOMPARE(a.generated_text, b.generated_text);
    QVERIFY(generated_ids(a) != generated_ids(c));
    QVERIFY(a.generated_text != c.generated_text);
    // Not greedy in disguise.
    QVERIFY(generated_ids(a) != generated_ids(run(request(0.0f, 1234, n))));
  }

  void max_tokens_respected_data() {
    QTest::addColumn<int>("max_tokens");
    QTest::addColumn<float>("temperature");
    QTest::newRow("0") << 0 << 0.0f;
    QTest::newRow("1") << 1 << 0.0f;
    QTest::newRow("7") << 7 << 0.0f;
    QTest::newRow("5 sampled") << 5 << 0.8f;
  }
  void max_tokens_respected() {
    QFETCH(int, max_tokens);
    QFETCH(float, temperature);
    const GenerationResult r = run(request(temperature, 1234, max_tokens));
    QCOMPARE(r.generated_tokens, max_tokens);
    QCOMPARE(int(generated_ids(r).size()), max_tokens);
    QCOMPARE(r.stop, StopReason::max_tokens);
  }

  // Another thread sets the flag after the first generated token; the loop
  // checks it before sampling the next one.
  void cancel_from_another_thread() {
    std::atomic<bool> cancel = false;
    std::thread canceller;
    int generated_seen = 0;
    const GenerationResult r = generator_->generate(
        request(0.0f, 0, 50),
        [&](const GeneratedToken& t) {
          if (t.routing.is_prompt || generated_seen++) return;
          canceller = std::thread([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            cancel.store(true);
          });
          canceller.join();  // the flag is set before this token's step ends
        },
        &cancel);
    QCOMPARE(r.stop, StopReason::cancelled);
    QCOMPARE(r.generated_tokens, 1);
    QCOMPARE(generated_seen, 1);
  }

  void cancel_before_start() {
    const std::atomic<bool> cancel = true;
    int calls = 0;
    const GenerationResult r = generator_->generate(
        request(0.0f, 0, 10), [&](const GeneratedToken&) { ++calls; }, &cancel);
    QCOMPARE(r.stop, StopReason::cancelled);
    QCOMPARE(calls, 0);
    QCOMPARE(r.generated_tokens, 0);
  }

  // The expert chosen most often without interventions never appears once it
  // is switched off in all layers; its score is still reported.
  void disabled_expert_never_chosen() {
    const GenerationResult plain = run(request(0.0f, 0, 8));
    const auto load = expert_load(traces(plain), 16);
    std::vector<int> total(16, 0);
    for (const auto& l : load)
      for (int e = 0; e < 16; ++e) total[e] += l.counts[e];
    const int busiest = int(std::max_element(total.begin(), total.end()) - total.begin());
    QVERIFY(total[busiest] > 0);

    GenerationRequest r = request(0.0f, 0, 8);
    r.interventions.disabled_experts.insert({Interventions::all_layers, busiest});
    const GenerationResult masked = run(r);
    int changed = 0;
    for (const auto& t : masked.tokens)
      for (const LayerRouting& l : t.routing.layers) {
        QVERIFY(std::find(l.expert_ids.begin(), l.expert_ids.end(), busiest) == l.expert_ids.end());
        QCOMPARE(int(l.expert_ids.size()), 4);
        QVERIFY(l.scores[busiest] > 0.0f);
        changed += l.mask_changed;
      }
    QVERIFY(changed > 0);
  }

  void disabled_expert_in_one_layer() {
    GenerationRequest r = request(0.0f, 0, 8);
    for (int e = 0; e < 12; ++e) r.interventions.disabled_experts.insert({2, e});  // 4 left = k
    const GenerationResult result = run(r);
    for (const auto& t : result.tokens) {
      QCOMPARE(t.routing.layers[1].layer, 2);
      std::vector<int> ids = t.routing.layers[1].expert_ids;
      std::sort(ids.begin(), ids.end());
      QCOMPARE(ids, (std::vector<int>{12, 13, 14, 15}));
    }
    // Layer 1 is untouched: its choices on the prompt match a plain run.
    const GenerationResult plain = run(request(0.0f, 0, 0));
    for (int i = 0; i < plain.prompt_tokens; ++i)
      QCOMPARE(result.tokens[i].routing.layers[0].expert_ids,
               plain.tokens[i].routing.layers[0].expert_ids);
  }

  void disabled_shared_experts_data() {
    QTest::addColumn<int>("layer");  // Interventions::all_layers for all
    QTest::newRow("all") << int(Interventions::all_layers);
    QTest::newRow("layer 1") << 1;
    QTest::newRow("layer 2") << 2;
  }
  void disabled_shared_experts() {
    QFETCH(int, layer);
    GenerationRequest r = request(0.0f, 0, 4);
    r.interventions.disabled_shared.insert(layer);
    const GenerationResult result = run(r);
    const GenerationResult plain = run(request(0.0f, 0, 4));
    for (const auto& t : result.tokens)
      for (const LayerRouting& l : t.routing.layers)
        QCOMPARE(l.shared_active, layer != Interventions::all_layers && layer != l.layer);
    // It changes the computation, not just the flag: with layer 1's shared
    // experts off, layer 2 sees a different input on the very first token.
    if (layer != 2)
      QVERIFY(result.tokens[0].routing.layers[1].scores !=
              plain.tokens[0].routing.layers[1].scores);
    else
      QCOMPARE(result.tokens[0].routing.layers[1].scores, plain.tokens[0].routing.layers[1].scores);
  }

  void top_k_override_data() {
    QTest::addColumn<int>("k");
    QTest::newRow("1") << 1;
    QTest::newRow("2") << 2;
    QTest::newRow("6") << 6;
    QTest::newRow("16") << 16;
  }
  void top_k_override() {
    QFETCH(int, k);
    GenerationRequest r = request(0.0f, 0, 3);
    r.interventions.top_k = k;
    const GenerationResult result = run(r);
    for (const auto& t : result.tokens)
      for (const LayerRouting& l : t.routing.layers) {
        QCOMPARE(int(l.expert_ids.size()), k);
        QCOMPARE(int(l.gate_weights.size()), k);
        for (int j = 0; j < k; ++j) QCOMPARE(l.gate_weights[j], l.scores[l.expert_ids[j]]);
        for (int j = 1; j < k; ++j)
          QVERIFY(l.scores[l.expert_ids[j - 1]] >= l.scores[l.expert_ids[j]]);
        QVERIFY(l.mask_changed);  // a different set from the config's top-4
      }
  }

  void invalid_interventions_data() {
    QTest::addColumn<int>("layer");
    QTest::addColumn<int>("expert");        // -1: none disabled
    QTest::addColumn<int>("shared_layer");  // -2: none
    QTest::addColumn<int>("top_k");         // no_k: no override
    QTest::addColumn<QString>("says");
    const int all = Interventions::all_layers;
    QTest::newRow("expert 99") << all << 99 << -2 << no_k << "expert 99 out of range";
    QTest::newRow("expert 16 in layer 1") << 1 << 16 << -2 << no_k << "--disable 1:16";
    QTest::newRow("dense layer 0") << 0 << 3 << -2 << no_k << "layer 0 is a dense layer";
    QTest::newRow("layer 3 out of range") << 3 << 1 << -2 << no_k << "layer 3 out of range";
    QTest::newRow("shared on dense layer 0") << all << -1 << 0 << no_k << "--disable-shared 0";
    QTest::newRow("shared on layer 7") << all << -1 << 7 << no_k << "--disable-shared 7";
    QTest::newRow("top-k 17") << all << -1 << -2 << 17 << "--top-k-experts 17";
    QTest::newRow("top-k 0") << all << -1 << -2 << 0 << "--top-k-experts 0";
  }
  void invalid_interventions() {
    QFETCH(int, layer);
    QFETCH(int, expert);
    QFETCH(int, shared_layer);
    QFETCH(int, top_k);
    QFETCH(QString, says);
    GenerationRequest r = request(0.0f, 0, 4);
    if (expert >= 0) r.interventions.disabled_experts.insert({layer, expert});
    if (shared_layer != -2) r.interventions.disabled_shared.insert(shared_layer);
    if (top_k != no_k) r.interventions.top_k = top_k;
    int calls = 0;
    const std::string message =
        engine_error_of([&] { generator_->generate(r, [&](const GeneratedToken&) { ++calls; }); });
    QVERIFY_CONTAINS(message, says);
    QCOMPARE(calls, 0);
  }

  void too_many_disabled_for_k() {
    GenerationRequest r = request(0.0f, 0, 4);
    for (int e = 0; e < 13; ++e) r.interventions.disabled_experts.insert({1, e});  // 3 left < 4
    int calls = 0;
    const std::string message =
        engine_error_of([&] { generator_->generate(r, [&](const GeneratedToken&) { ++calls; }); });
    QVERIFY_CONTAINS(message, "layer 1 keeps only 3 of 16");
    QCOMPARE(calls, 0);
    // With k lowered to 3 the same mask is fine.
    r.interventions.top_k = 3;
    QCOMPARE(run(r).generated_tokens, 4);
  }

  // The same tokens after reset() give bit-identical logits, even when other
  // tokens ran in between.
  // Non-finite logits stop the run with the position named, never a garbage token.
  void non_finite_logits_stop_the_run_data() {
    QTest::addColumn<float>("value");
    QTest::addColumn<float>("temperature");
    QTest::addColumn<QString>("kind");
    QTest::newRow("NaN, greedy") << NAN << 0.0f << "NaN at id 7";
    QTest::newRow("NaN, sampled") << NAN << 0.8f << "NaN at id 7";
    QTest::newRow("infinity, sampled") << INFINITY << 0.8f << "infinite at id 7";
  }
  void non_finite_logits_stop_the_run() {
    QFETCH(float, value);
    QFETCH(float, temperature);
    QFETCH(QString, kind);
    NonFiniteLogits backend(*backend_, 10, value);
    Generator generator(backend, *tokenizer_, model_->config());
    GenerationRequest request;
    request.prompt = "Hello world";  // 8 tokens: positions 0-7, then generated from 8 on
    request.sampling.max_tokens = 8;
    request.sampling.temperature = temperature;
    std::vector<GeneratedToken> seen;
    const std::string message = engine_error_of(
        [&] { generator.generate(request, [&](const GeneratedToken& t) { seen.push_back(t); }); });
    QVERIFY_CONTAINS(message, QStringLiteral("logits at position 10 are not finite (") + kind);
    QCOMPARE(int(seen.size()), 11);  // positions 0-10 ran; nothing was sampled from 10's logits
  }

  // A NaN or infinity in one tensor: the message names the first layer whose output
  // is not finite (or the final norm and lm_head when every layer's is).
  void non_finite_logits_name_the_first_layer_data() {
    QTest::addColumn<QString>("tensor");
    QTest::addColumn<float>("value");
    QTest::addColumn<QString>("says");
    QTest::newRow("NaN in layer 1's attention") << "model.layers.1.self_attn.o_proj.weight" << NAN
                                                << "first not finite after layer 1 (of 3)";
    QTest::newRow("infinity in layer 0's dense MLP")
        << "model.layers.0.mlp.down_proj.weight" << INFINITY
        << "first not finite after layer 0 (of 3)";
    QTest::newRow("NaN in layer 2's shared experts")
        << "model.layers.2.mlp.shared_experts.down_proj.weight" << NAN
        << "first not finite after layer 2 (of 3)";
    QTest::newRow("NaN in the final norm")
        << "model.norm.weight" << NAN << "finite after every layer, so the final norm or lm_head";
  }
  void non_finite_logits_name_the_first_layer() {
    QFETCH(QString, tensor);
    QFETCH(float, value);
    QFETCH(QString, says);
    QTemporaryDir dir;
    const fs::path poisoned = dir.path().toStdString();
    QVERIFY(copy_poisoned_model(model_dir, poisoned, tensor.toStdString(), value));
    const auto model = Model::load(poisoned);
    CpuBackend backend(*model);
    Generator generator(backend, *tokenizer_, model->config());
    const std::string message = engine_error_of([&] { generator.generate(request(0.0f, 0, 4)); });
    const auto last_prompt_position = int(tokenizer_->encode(prompt).size()) - 1;
    QVERIFY_CONTAINS(
        message,
        QStringLiteral("logits at position %1 are not finite (").arg(last_prompt_position));
    QVERIFY_CONTAINS(message, says);
    // The diagnosis left the backend as it was: the next run of the same prompt says the same.
    QCOMPARE(engine_error_of([&] { generator.generate(request(0.0f, 0, 4)); }), message);
  }

  void reset_forgets_kv_cache() {
    const Interventions none;
    const std::vector<int> a = {1, 335, 399, 261, 265}, b = {1, 42, 77, 300};
    auto run_seq = [&](Backend& backend, const std::vector<int>& ids) {
      std::vector<std::vector<float>> out;
      backend.reset();
      for (int pos = 0; pos < int(ids.size()); ++pos) {
        const auto logits = backend.forward(ids[pos], pos, none, nullptr);
        out.emplace_back(logits.begin(), logits.end());
      }
      return out;
    };
    const auto first = run_seq(*backend_, a);
    run_seq(*backend_, b);
    const auto again = run_seq(*backend_, a);
    QCOMPARE(again, first);
    CpuBackend fresh(*model_);
    QCOMPARE(run_seq(fresh, a), first);
    QVERIFY(first[1] != run_seq(fresh, b)[1]);  // the logits do depend on the tokens
  }

  // Model load errors on a copy of the fixture with one thing broken.
  void load_errors_data() {
    QTest::addColumn<QString>("change");
    QTest::addColumn<QStringList>("says");  // "%dir" stands for the copy's path
    QTest::newRow("intermediate_size 96 -> 128")
        << "intermediate_size"
        << QStringList{"model.safetensors", "model.layers.0.mlp.gate_proj.weight", "[96, 64]",
                       "[128, 64]"};
    QTest::newRow("model_type llama")
        << "model_type" << QStringList{"%dir/config.json", "model_type", "llama"};
    QTest::newRow("no config.json") << "no config" << QStringList{"%dir/config.json"};
    QTest::newRow("truncated model.safetensors")
        << "truncate" << QStringList{"%dir/model.safetensors"};
    QTest::newRow("no safetensors") << "no weights" << QStringList{"%dir", ".safetensors"};
    QTest::newRow("no such directory") << "no dir" << QStringList{"%dir", "not a model directory"};
    QTest::newRow("broken generation_config.json")
        << "generation config" << QStringList{"%dir/generation_config.json", "not valid JSON"};
    QTest::newRow("eos id of the wrong type")
        << "generation eos"
        << QStringList{"%dir/generation_config.json", "eos_token_id", "an integer"};
  }
  void load_errors() {
    QFETCH(QString, change);
    QFETCH(QStringList, says);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const fs::path dir = fs::path(tmp.path().toStdString()) / "broken-model";
    fs::copy(model_dir, dir);
    const fs::path config_path = dir / "config.json", weights = dir / "model.safetensors";
    auto patch_config = [&](const char* key, const json& value) {
      json config = json::parse(std::ifstream(config_path));
      config[key] = value;
      std::ofstream(config_path) << config.dump(2);
    };
    if (change == "intermediate_size") patch_config("intermediate_size", 128);
    if (change == "model_type") patch_config("model_type", "llama");
    if (change == "no config") fs::remove(config_path);
    if (change == "truncate") fs::resize_file(weights, fs::file_size(weights) - 1000);
    if (change == "no weights") fs::remove(weights);
    if (change == "no dir") fs::remove_all(dir);
    if (change == "generation config") std::ofstream(dir / "generation_config.json") << "{ nope";
    if (change == "generation eos")
      std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": ["x"]})";

    const std::string message = engine_error_of([&] { Model::load(dir); });
    for (const QString& part : says)
      QVERIFY_CONTAINS(message,
                       QString(part).replace("%dir", QString::fromStdString(dir.string())));
  }

  // Per-layer expert counts: tokens * k per layer, split by the filters.
  void expert_load_of_a_run() {
    const GenerationResult result = run(request(0.8f, 5, 6));
    const auto t = traces(result);
    const auto all = expert_load(t, 16);
    const auto prompt_only = expert_load(t, 16, TokenFilter::prompt);
    const auto generated = expert_load(t, 16, TokenFilter::generated);
    QCOMPARE(int(all.size()), 2);
    QCOMPARE(int(prompt_only.size()), 2);
    QCOMPARE(int(generated.size()), 2);
    for (int j = 0; j < 2; ++j) {
      QCOMPARE(all[j].layer, j + 1);
      QCOMPARE(all[j].tokens, result.prompt_tokens + result.generated_tokens);
      QCOMPARE(prompt_only[j].tokens, result.prompt_tokens);
      QCOMPARE(generated[j].tokens, result.generated_tokens);
      QCOMPARE(std::accumulate(all[j].counts.begin(), all[j].counts.end(), 0), all[j].tokens * 4);
      QCOMPARE(std::accumulate(generated[j].counts.begin(), generated[j].counts.end(), 0),
               result.generated_tokens * 4);
      double weight_sum = 0.0;
      for (const auto& token : t)
        for (float w : token.layers[j].gate_weights) weight_sum += w;
      double load_sum = 0.0;
      for (int e = 0; e < 16; ++e) {
        QCOMPARE(all[j].counts[e], prompt_only[j].counts[e] + generated[j].counts[e]);
        load_sum += all[j].gate_weight[e];
      }
      QVERIFY(std::abs(load_sum - weight_sum) < 1e-9 * std::max(1.0, weight_sum));
      QCOMPARE(all[j].mask_changed, 0);
    }
  }

  void expert_load_by_hand() {
    auto token = [](bool is_prompt, std::vector<int> ids, std::vector<float> weights, bool masked) {
      TokenRouting t;
      t.is_prompt = is_prompt;
      LayerRouting l;
      l.layer = 3;
      l.expert_ids = std::move(ids);
      l.gate_weights = std::move(weights);
      l.mask_changed = masked;
      t.layers.push_back(l);
      return t;
    };
    const std::vector<TokenRouting> t = {token(true, {0, 1}, {0.5f, 0.25f}, false),
                                         token(false, {1, 2}, {0.5f, 0.125f}, true),
                                         token(false, {1, 0}, {0.25f, 0.25f}, false)};
    const auto all = expert_load(t, 4);
    QCOMPARE(int(all.size()), 1);
    QCOMPARE(all[0].layer, 3);
    QCOMPARE(all[0].tokens, 3);
    QCOMPARE(all[0].mask_changed, 1);
    QCOMPARE(all[0].counts, (std::vector<int>{2, 3, 1, 0}));
    QCOMPARE(all[0].gate_weight, (std::vector<double>{0.75, 1.0, 0.125, 0.0}));
    const auto generated = expert_load(t, 4, TokenFilter::generated);
    QCOMPARE(generated[0].tokens, 2);
    QCOMPARE(generated[0].counts, (std::vector<int>{1, 2, 1, 0}));
    const auto prompt_only = expert_load(t, 4, TokenFilter::prompt);
    QCOMPARE(prompt_only[0].counts, (std::vector<int>{1, 1, 0, 0}));
    QVERIFY(expert_load({}, 4).empty());
  }

  // A chat model's generation_config.json lists more ends of a reply than the
  // tokenizer's EOS (<|im_end|>): generation stops on any of them.
  void generation_config_ends_a_reply() {
    const GenerationResult free_run = run(request(0.0f, 1, 4));
    const int first = generated_ids(free_run).at(0);
    QTemporaryDir tmp;
    const fs::path dir = fs::path(tmp.path().toStdString()) / "chat-model";
    fs::copy(model_dir, dir);
    std::ofstream(dir / "generation_config.json") << json{{"eos_token_id", {first, 2}}}.dump();
    const auto model = Model::load(dir);
    QCOMPARE(model->config().stop_token_ids, (std::vector<int>{2, first}));  // config.json's first
    CpuBackend backend(*model);
    Generator generator(backend, *tokenizer_, model->config());
    const GenerationResult stopped = generator.generate(request(0.0f, 1, 4));
    QCOMPARE(stopped.stop, StopReason::eos);
    QCOMPARE(stopped.generated_tokens, 0);
  }

  // On the fixture the count is exactly the number of stored weights.
  void parameter_count_matches_checkpoint() {
    const SafetensorsArchive archive(model_dir);
    std::int64_t stored = 0;
    for (const auto& [name, view] : archive.tensors()) stored += view->numel();
    QCOMPARE(count_parameters(model_->config()).total, stored);
  }
};

QTEST_GUILESS_MAIN(TestGenerator)
#include "test_generator.moc"
