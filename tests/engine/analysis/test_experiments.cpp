// The experiments against direct computations: evaluation loss by hand, the
// redundancy mask, the sweeps' conditions, and every routing statistic on
// traces whose answer is known (hand-made or uniform random).
#include <QTemporaryDir>
#include <QTest>
#include <atomic>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include "analysis/experiments.h"
#include "analysis/routing_analysis.h"
#include "cpu/cpu_backend.h"
#include "model/default_model.h"
#include "model/model.h"
#include "support/expect_error.h"
#include "support/poisoned_model.h"

using namespace moescope;
namespace fs = std::filesystem;

namespace {

const fs::path model_dir = fs::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32";

// A loaded model with everything an experiment needs.
struct Loaded {
  explicit Loaded(const fs::path& dir = model_dir, std::string name = "fixture")
      : model(Model::load(dir)),
        backend(*model),
        tokenizer(load_tokenizer(dir)),
        name(std::move(name)) {}
  std::unique_ptr<Model> model;
  CpuBackend backend;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string name;
  ModelUnderTest under_test() { return {name, backend, *tokenizer, model->config()}; }
};

std::vector<LabelledText> texts() {
  return {{"prose",
           {"The router sends each token to a few experts, and the experts learn.",
            "Shared experts see every token; routed experts see only some."}},
          {"code", {"def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n"}}};
}

ExperimentSettings small_settings() {
  ExperimentSettings s;
  s.eval.tokens_per_label = 40;
  s.eval.window = 16;
  return s;
}

// A token whose single MoE layer chose `ids`, first choice first.
TokenRouting routed(int position, int token_id, std::vector<int> ids) {
  TokenRouting t{position, token_id, false, {}};
  LayerRouting layer;
  layer.layer = 1;
  layer.expert_ids = std::move(ids);
  t.layers.push_back(std::move(layer));
  return t;
}

}  // namespace

class TestExperiments : public QObject {
  Q_OBJECT

 private slots:
  void text_set_splits_documents_and_labels_by_file() {
    QTemporaryDir dir;
    const fs::path file = fs::path(dir.path().toStdString()) / "poems.txt";
    std::ofstream(file) << "first\nline\n\x1e\nsecond\n";
    const std::vector<LabelledText> set = load_text_set({file});
    QCOMPARE(set.size(), std::size_t(1));
    QCOMPARE(set[0].label, std::string("poems"));
    QCOMPARE(set[0].documents, (std::vector<std::string>{"first\nline", "second"}));

    const fs::path empty = fs::path(dir.path().toStdString()) / "empty.txt";
    std::ofstream(empty) << "";
    QVERIFY_CONTAINS(engine_error_of([&] { load_text_set({empty}); }), "empty.txt");
    QVERIFY_CONTAINS(engine_error_of([&] { text_files_in(dir.path().toStdString() + "/none"); }),
                     "none");
    QVERIFY(text_files_in(default_text_set_dir()).size() >= 2);
  }

  // A separator line first, last or twice in a row ends a document there (it was kept as
  // text when it did not stand between two others; corpus regression-separators-at-the-edges).
  void text_set_separators_anywhere() {
    QTemporaryDir dir;
    const fs::path file = fs::path(dir.path().toStdString()) / "edges.txt";
    std::ofstream(file) << "\x1e\nfirst\n\x1e\n\x1e\n\nsecond\n\x1e";
    QCOMPARE(load_text_set({file})[0].documents, (std::vector<std::string>{"first", "\nsecond"}));
    std::ofstream(file) << "\x1e\n\x1e\n";
    QVERIFY_CONTAINS(engine_error_of([&] { load_text_set({file}); }), "holds no text");
  }

  // Settings the evaluation cannot use are refused before any text is read, each with its
  // own message (--window 0 used to blame --tokens-per-text).
  void meaningless_settings_refused_data() {
    QTest::addColumn<int>("window");
    QTest::addColumn<int>("tokens_per_text");
    QTest::addColumn<QString>("message");
    QTest::newRow("window 0") << 0 << 40 << "--window 0: a window holds at least 1 token";
    QTest::newRow("window -5") << -5 << 40 << "--window -5: a window holds at least 1 token";
    QTest::newRow("tokens beyond the limit")
        << 16 << max_tokens_per_text + 1
        << QStringLiteral("--tokens-per-text %1: at most %2 tokens per text")
               .arg(max_tokens_per_text + 1)
               .arg(max_tokens_per_text);
    QTest::newRow("int max") << INT_MAX << INT_MAX << "--tokens-per-text 2147483647: at most";
    QTest::newRow("fewer tokens than the window")
        << 16 << 8 << "--tokens-per-text must be at least the window of 16 tokens";
    QTest::newRow("window beyond the context")
        << 5000 << 5000 << "--window 5000: beyond fixture's max_position_embeddings of 4096";
  }
  void meaningless_settings_refused() {
    QFETCH(int, window);
    QFETCH(int, tokens_per_text);
    QFETCH(QString, message);
    Loaded m;
    ExperimentSettings settings = small_settings();
    settings.eval.window = window;
    settings.eval.tokens_per_label = tokens_per_text;
    QVERIFY_CONTAINS(
        engine_error_of([&] { run_experiment("locality", {m.under_test()}, texts(), settings); }),
        message);
  }

  // A target id beyond the model's logits (a tokenizer of another model) is refused, not read.
  void evaluation_refuses_targets_without_a_logit() {
    Loaded m;
    EvalSettings settings = small_settings().eval;
    settings.window = 2;
    const int vocab = m.model->config().vocab_size;
    const std::vector<TokenStream> streams = {{"odd", {5, 6, vocab + 3}}};
    WorkMeter meter(evaluation_cost(streams, settings));
    QVERIFY_CONTAINS(
        engine_error_of(
            [&] { evaluate(m.backend, m.model->config(), streams, {}, settings, meter); }),
        QStringLiteral("token id %1 has no logit (the model has %2)").arg(vocab + 3).arg(vocab));
  }

  // NaN weights give no loss: the evaluation stops naming the text, the position and
  // the first layer whose output is not finite, instead of averaging NaN.
  void evaluation_refuses_non_finite_logits() {
    QTemporaryDir dir;
    QVERIFY(copy_poisoned_model(model_dir, dir.path().toStdString(),
                                "model.layers.2.self_attn.q_proj.weight", NAN));
    const auto model = Model::load(dir.path().toStdString());
    CpuBackend backend(*model);
    const Loaded m;
    const EvalSettings settings = small_settings().eval;
    const std::vector<TokenStream> streams = tokenize_text_set(*m.tokenizer, texts(), settings);
    WorkMeter meter(evaluation_cost(streams, settings));
    const std::string message =
        engine_error_of([&] { evaluate(backend, model->config(), streams, {}, settings, meter); });
    QVERIFY_CONTAINS(message, "logits at position 0 in a window of 'prose' are not finite (NaN");
    QVERIFY_CONTAINS(message, "first not finite after layer 2 (of 3)");
  }

  void evaluation_loss_is_the_mean_negative_log_likelihood() {
    Loaded m;
    const EvalSettings settings = small_settings().eval;
    const std::vector<TokenStream> streams = tokenize_text_set(*m.tokenizer, texts(), settings);
    WorkMeter meter(evaluation_cost(streams, settings));
    const Evaluation e = evaluate(m.backend, m.model->config(), streams, {}, settings, meter);
    QCOMPARE(meter.done(), meter.total());

    for (std::size_t l = 0; l < streams.size(); ++l) {
      const std::vector<int>& ids = streams[l].ids;
      double sum = 0.0;
      long n = 0;
      for (std::size_t start = 0; start + settings.window < ids.size(); start += settings.window) {
        m.backend.reset();
        for (int pos = 0; pos < settings.window; ++pos) {
          const auto logits = m.backend.forward(ids[start + pos], pos, {}, nullptr);
          double z = 0.0;
          for (float v : logits) z += std::exp(double(v));
          sum += std::log(z) - logits[ids[start + pos + 1]];
          ++n;
        }
      }
      QCOMPARE(e.labels[l].predicted, n);
      QVERIFY(std::abs(e.labels[l].loss() - sum / n) < 1e-9 * std::max(1.0, sum / n));
    }
    QVERIFY(std::abs(e.mean_loss() - (e.labels[0].loss() + e.labels[1].loss()) / 2) < 1e-12);
  }

  void redundancy_at_ratio_zero_is_the_plain_loss() {
    Loaded m;
    const ExperimentSettings settings = small_settings();
    const ExperimentResult r = run_experiment("redundancy", {m.under_test()}, texts(), settings);
    WorkMeter meter(1L << 40);
    const Evaluation plain =
        evaluate(m.backend, m.model->config(),
                 tokenize_text_set(*m.tokenizer, texts(), settings.eval), {}, settings.eval, meter);
    QCOMPARE(r.table.rows.front()[3].get<double>(), plain.mean_loss());
    // 16 experts: 0..4 of them off; the loss moves once the best experts go.
    QCOMPARE(r.curves->curves[0].x, (std::vector<double>{0, 1, 2, 3, 4}));  // sixteenths
    QVERIFY(r.curves->curves[0].y[4] != r.curves->curves[0].y[0]);
  }

  // DeepSeek-V3's balancing on the bundled deepseekv3-tiny, as trained and with its raw
  // scores selecting, beside deepseekmoe-tiny (one run: no bias). Every heatmap row averages
  // to the fair share and its maximum is the table's busiest expert; the run as trained has
  // the plain evaluation's loss; without the bias the load moves.
  void selection_bias_compares_load_with_and_without_the_bias() {
    Loaded v3(bundled_model_dir("deepseekv3-tiny"), "v3");
    Loaded aux(bundled_model_dir("deepseekmoe-tiny"), "aux");
    const ExperimentSettings settings = small_settings();
    const ExperimentResult r =
        run_experiment("bias", {v3.under_test(), aux.under_test()}, texts(), settings);
    QCOMPARE(r.heatmaps.size(), std::size_t(3));
    QCOMPARE(r.table.rows.size(), std::size_t(9));  // 3 runs x 3 MoE layers
    const char* const conditions[] = {"with the bias", "without the bias", "balance loss"};
    for (std::size_t run = 0; run < 3; ++run) {
      const HeatmapFigure& map = r.heatmaps[run];
      QCOMPARE(map.row_labels.size(), std::size_t(3));
      QCOMPARE(map.neutral, 1.0);
      for (std::size_t row = 0; row < 3; ++row) {
        const auto& table = r.table.rows[run * 3 + row];
        QCOMPARE(table[1].get<std::string>(), std::string(conditions[run]));
        const auto first = map.values.begin() + static_cast<long>(row * 64);
        QVERIFY(std::abs(std::accumulate(first, first + 64, 0.0) / 64 - 1.0) < 1e-12);
        QCOMPARE(*std::max_element(first, first + 64), table[3].get<double>());
      }
    }
    QVERIFY(r.heatmaps[0].values != r.heatmaps[1].values);
    WorkMeter meter(1L << 40);
    const Evaluation plain = evaluate(v3.backend, v3.model->config(),
                                      tokenize_text_set(*v3.tokenizer, texts(), settings.eval), {},
                                      settings.eval, meter);
    QCOMPARE(r.table.rows[0][6].get<double>(), plain.mean_loss());
    const auto& catalogue = experiment_catalogue();
    QVERIFY(std::find_if(catalogue.begin(), catalogue.end(), [](const ExperimentInfo& e) {
              return e.name == "bias";
            })->needs_engine);
  }

  void disabling_the_top_scoring_experts_picks_the_next_ranks() {
    Loaded m;
    const int k = m.model->config().num_experts_per_tok;
    for (int disabled : {1, 3}) {
      Interventions top_off;
      top_off.disable_top_scoring = disabled;
      top_off.validate(m.model->config());
      TokenRouting plain, masked;
      for (int pos = 0; pos < 5; ++pos) {  // the first MoE layer's input does not depend on masks
        m.backend.reset();
        for (int p = 0; p <= pos; ++p) m.backend.forward(10 + p, p, {}, &plain);
        m.backend.reset();
        for (int p = 0; p <= pos; ++p) m.backend.forward(10 + p, p, top_off, &masked);
        std::vector<int> ranks(plain.layers[0].scores.size());
        std::iota(ranks.begin(), ranks.end(), 0);
        const auto& s = plain.layers[0].scores;
        std::stable_sort(ranks.begin(), ranks.end(), [&](int a, int b) { return s[a] > s[b]; });
        QCOMPARE(masked.layers[0].expert_ids,
                 std::vector<int>(ranks.begin() + disabled, ranks.begin() + disabled + k));
        QVERIFY(masked.layers[0].mask_changed);
      }
    }
    Interventions too_many;
    too_many.disable_top_scoring = 13;  // 16 experts, k = 4
    QVERIFY_CONTAINS(engine_error_of([&] { too_many.validate(m.model->config()); }),
                     "fewer than k = 4");
  }

  void sweeps_cover_the_papers_conditions() {
    Loaded m;
    const ExperimentSettings settings = small_settings();
    const ExperimentResult shared = run_experiment("shared", {m.under_test()}, texts(), settings);
    QCOMPARE(shared.table.rows.size(), std::size_t(3));
    QCOMPARE(shared.table.rows[1][1].get<std::string>(), std::string("shared experts off"));
    QVERIFY(shared.table.rows[1][3].get<double>() != shared.table.rows[0][3].get<double>());

    const ExperimentResult topk = run_experiment("topk", {m.under_test()}, texts(), settings);
    QCOMPARE(topk.curves->curves[0].x, (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}));
    // k = 4 is the model's own setting: the plain loss again.
    QCOMPARE(
        topk.curves->curves[0].y[3],
        run_experiment("redundancy", {m.under_test()}, texts(), settings).curves->curves[0].y[0]);
  }

  void specialisation_loads_average_to_balance() {
    Loaded m;
    const ExperimentResult r =
        run_experiment("specialisation", {m.under_test()}, texts(), small_settings());
    QCOMPARE(r.heatmaps.size(), std::size_t(2));  // MoE layers 1 and 2
    for (const HeatmapFigure& h : r.heatmaps) {
      QCOMPARE(h.row_labels, (std::vector<std::string>{"prose", "code"}));
      for (std::size_t row = 0; row < 2; ++row) {
        double sum = 0.0;
        for (std::size_t e = 0; e < 16; ++e) sum += h.values[row * 16 + e];
        QVERIFY(std::abs(sum / 16 - 1.0) < 1e-12);
      }
    }
    // Hand-made: 3 tokens, all to experts {0, 1} of 4 => loads 2, 2, 0, 0.
    std::vector<TokenRouting> tokens = {routed(0, 5, {0, 1}), routed(1, 6, {1, 0}),
                                        routed(2, 7, {0, 1})};
    QCOMPARE(relative_load(tokens, 0, 4), (std::vector<double>{2, 2, 0, 0}));
    QCOMPARE(total_variation({2, 2, 0, 0}, {1, 1, 1, 1}), 0.5);
  }

  void coactivation_with_itself_is_one() {
    Loaded m;
    ExperimentSettings settings = small_settings();
    settings.layer = 2;
    settings.top_experts = 6;
    const ExperimentResult r = run_experiment("coactivation", {m.under_test()}, texts(), settings);
    QCOMPARE(r.heatmaps.size(), std::size_t(1));
    const HeatmapFigure& h = r.heatmaps[0];
    QCOMPARE(h.row_labels.size(), std::size_t(6));
    for (int i = 0; i < 6; ++i) QCOMPARE(h.values[i * 6 + i], 1.0);
    // P(j|i) count_i == P(i|j) count_j: the joint counts are symmetric.
    const std::vector<TokenRouting> tokens = {routed(0, 1, {0, 1}), routed(1, 1, {0, 2}),
                                              routed(2, 1, {1, 0})};
    const auto c = coactivation_counts(tokens, 0, 3);
    QCOMPARE(c[0][0], 3L);
    QCOMPARE(c[0][1], 2L);
    QCOMPARE(c[1][0], 2L);
    QCOMPARE(c[1][2], 0L);
    QVERIFY_CONTAINS(engine_error_of([&] {
                       ExperimentSettings dense = settings;
                       dense.layer = 0;
                       run_experiment("coactivation", {m.under_test()}, texts(), dense);
                     }),
                     "--layer 0: not an MoE layer");
  }

  void locality_counts_pairs_within_windows() {
    // Windows restart at position 0: the pair across the restart does not count.
    const std::vector<TokenRouting> tokens = {routed(0, 1, {3, 1}), routed(1, 1, {3, 2}),
                                              routed(2, 1, {2, 0}), routed(0, 1, {2, 0}),
                                              routed(1, 1, {0, 1})};
    const Locality l = routing_locality(tokens, 0, 4);
    QCOMPARE(l.pairs, 3L);
    QCOMPARE(l.same_first, 1L);   // 3 -> 3
    QCOMPARE(l.shared_top2, 3L);  // {3,1}{3,2}; {3,2}{2,0}; {2,0}{0,1}
    QCOMPARE(l.chance_first, 0.25);
  }

  void locality_of_uniform_random_routing_is_the_chance_level() {
    std::mt19937 rng(7);
    const int n = 16;
    std::vector<TokenRouting> tokens;
    for (int i = 0; i < 200000; ++i) {
      std::vector<int> experts(n);
      std::iota(experts.begin(), experts.end(), 0);
      std::shuffle(experts.begin(), experts.end(), rng);
      tokens.push_back(routed(i % 128, 1, {experts[0], experts[1]}));
    }
    const Locality l = routing_locality(tokens, 0, n);
    QCOMPARE(l.chance_first, 1.0 / n);
    QVERIFY(std::abs(l.chance_top2 - (1.0 - 14.0 * 13.0 / (16.0 * 15.0))) < 1e-15);
    QVERIFY2(std::abs(l.first_rate() - l.chance_first) < 0.003,
             qPrintable(QString::number(l.first_rate())));
    QVERIFY2(std::abs(l.top2_rate() - l.chance_top2) < 0.005,
             qPrintable(QString::number(l.top2_rate())));
    QVERIFY(std::abs(l.chance_first_load - 1.0 / n) < 0.001);
  }

  void vocabulary_finds_a_token_that_always_goes_to_one_expert() {
    std::vector<TokenRouting> tokens;
    for (int i = 0; i < 10; ++i) tokens.push_back(routed(i, 42, {3, i % 4}));
    tokens.push_back(routed(10, 7, {1, 2}));
    const TokenExpertCounts c = token_expert_counts(tokens, 0, 4);
    QCOMPARE(c.occurrences.at(42), 10L);
    QCOMPARE(c.per_expert.at(42)[3],
             10L + 2);  // first choice every time, second choice twice (i = 3, 7)
    QCOMPARE(c.per_expert.at(7), (std::vector<long>{0, 1, 1, 0}));

    Loaded m;
    const ExperimentResult r =
        run_experiment("vocabulary", {m.under_test()}, texts(), small_settings());
    for (double share : r.curves->curves[0].y) QVERIFY(share > 0.0 && share <= 1.0);
    QCOMPARE(r.curves->curves[1].y[0], 4.0 / 16);  // chance k/N
  }

  void progress_reaches_the_total_and_cancel_stops() {
    Loaded m;
    long last_done = 0, total = 0;
    run_experiment("locality", {m.under_test()}, texts(), small_settings(), [&](long done, long t) {
      QVERIFY(done > last_done);
      last_done = done, total = t;
    });
    QCOMPARE(last_done, total);

    std::atomic<bool> cancel = false;
    long seen = 0, first = 0;
    bool cancelled = false;
    try {
      run_experiment(
          "topk", {m.under_test()}, texts(), small_settings(),
          [&](long done, long) {
            seen = done;
            if (!first) first = done, cancel = true;
          },
          &cancel);
    } catch (const Cancelled&) {
      cancelled = true;
    }
    QVERIFY(cancelled);
    QVERIFY(first > 0);
    QCOMPARE(seen, first);  // nothing more ran once the cancel was seen
    QVERIFY_CONTAINS(
        engine_error_of([&] { run_experiment("nonsense", {m.under_test()}, texts(), {}); }),
        "unknown experiment \"nonsense\"");
  }

  void results_export_as_json_and_csv() {
    ExperimentResult r;
    r.experiment = "x";
    r.table.columns = {"model", "value"};
    r.table.rows = {{"a, \"b\"", 1.5}, {"c", 2}};
    QCOMPARE(to_csv(r.table), std::string("model,value\n\"a, \"\"b\"\"\",1.5\nc,2\n"));
    QCOMPARE(to_json(r)["table"]["rows"][1][1].get<int>(), 2);
  }
};

QTEST_GUILESS_MAIN(TestExperiments)
#include "test_experiments.moc"
