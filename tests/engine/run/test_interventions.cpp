// Parsing the --disable / --disable-shared spellings and validating interventions
// against deepseek-moe-16b's shape (28 layers, layer 0 dense, 64 experts, top-6).
#include <QTest>

#include "model/config.h"
#include "run/interventions.h"
#include "support/expect_error.h"

using namespace moescope;

namespace {

ModelConfig deepseek_moe_16b() {
  ModelConfig c;
  c.model_type = "deepseek";
  c.num_hidden_layers = 28;
  c.n_routed_experts = 64;
  c.n_shared_experts = 2;
  c.num_experts_per_tok = 6;
  c.first_k_dense_replace = 1;
  c.moe_layer_freq = 1;
  return c;
}

// (layer, expert) pairs spelled "L:E L:E", with "all" for all layers.
QString pairs_string(const Interventions& in) {
  QStringList pairs;
  for (const auto& [layer, expert] : in.disabled_experts)
    pairs << (layer == Interventions::all_layers ? QString("all") : QString::number(layer)) + ":" +
                 QString::number(expert);
  return pairs.join(' ');
}

QString layers_string(const Interventions& in) {
  QStringList layers;
  for (int layer : in.disabled_shared)
    layers << (layer == Interventions::all_layers ? QString("all") : QString::number(layer));
  return layers.join(' ');
}

}  // namespace

class TestInterventions : public QObject {
  Q_OBJECT

 private slots:
  void parses_disabled_experts_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("pairs");  // sorted, as the set holds them
    QTest::newRow("one") << "3:17"
                         << "3:17";
    QTest::newRow("several") << "5:1,3:17,3:2"
                             << "3:2 3:17 5:1";
    QTest::newRow("all layers") << "all:5,1:0"
                                << "all:5 1:0";
    QTest::newRow("spaces") << " 3:17 , 4:0 "
                            << "3:17 4:0";
    QTest::newRow("repeated") << "3:17,3:17"
                              << "3:17";
  }
  void parses_disabled_experts() {
    QFETCH(QString, text);
    QFETCH(QString, pairs);
    Interventions in;
    parse_disabled_experts(text.toStdString(), in);
    QCOMPARE(pairs_string(in), pairs);
    QVERIFY(in.expert_disabled(3, 17) == pairs.contains("3:17"));
  }

  void rejects_malformed_experts_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("bad_item");
    QTest::newRow("empty") << ""
                           << "\"\"";
    QTest::newRow("no colon") << "3"
                              << "\"3\"";
    QTest::newRow("no expert") << "3:"
                               << "\"3:\"";
    QTest::newRow("letters") << "3:x"
                             << "\"3:x\"";
    QTest::newRow("negative") << "-1:4"
                              << "\"-1:4\"";
    QTest::newRow("trailing comma") << "3:4,"
                                    << "\"\"";
    QTest::newRow("range") << "3:4-6"
                           << "\"3:4-6\"";
    QTest::newRow("all experts") << "3:all"
                                 << "\"3:all\"";
    QTest::newRow("too big") << "3:99999999999"
                             << "\"3:99999999999\"";
  }
  void rejects_malformed_experts() {
    QFETCH(QString, text);
    QFETCH(QString, bad_item);
    Interventions in;
    const std::string message =
        engine_error_of([&] { parse_disabled_experts(text.toStdString(), in); });
    QVERIFY_CONTAINS(message, "--disable " + bad_item + ": expected LAYER:EXPERT");
  }

  void parses_disabled_shared() {
    Interventions in;
    parse_disabled_shared("5, 1,all", in);
    QCOMPARE(layers_string(in), "all 1 5");
    QVERIFY(in.shared_disabled(20));
    for (const char* bad : {"", "x", "1,,2", "-3", "1:2"})
      QVERIFY_CONTAINS(engine_error_of([&] { parse_disabled_shared(bad, in); }),
                       "--disable-shared \"");
  }

  void accepts_valid_interventions() {
    Interventions in;
    in.validate(deepseek_moe_16b());  // nothing to check
    parse_disabled_experts("1:0,27:63,all:5", in);
    parse_disabled_shared("1,all", in);
    in.top_k = 61;  // layers 1 and 27 keep 62 of 64
    in.validate(deepseek_moe_16b());
    QVERIFY(in.expert_disabled(9, 5));
    QVERIFY(!in.expert_disabled(9, 6));
  }

  void rejects_invalid_interventions_data() {
    QTest::addColumn<QString>("experts");  // --disable text, may be empty
    QTest::addColumn<QString>("shared");   // --disable-shared text, may be empty
    QTest::addColumn<int>("top_k");        // 0: no override
    QTest::addColumn<QString>("expected");
    QTest::newRow("expert out of range")
        << "3:70"
        << "" << 0
        << "--disable 3:70: expert 70 out of range (layer 3 has 64 routed experts: 0-63)";
    QTest::newRow("expert out of range, all layers")
        << "all:64"
        << "" << 0
        << "--disable all:64: expert 64 out of range (the model has 64 routed experts: 0-63)";
    QTest::newRow("dense layer") << "0:5"
                                 << "" << 0
                                 << "--disable 0:5: layer 0 is a dense layer (MoE layers: 1-27)";
    QTest::newRow("layer out of range")
        << "28:5"
        << "" << 0 << "--disable 28:5: layer 28 out of range (the model has 28 layers: 0-27)";
    QTest::newRow("shared on a dense layer")
        << ""
        << "0" << 0 << "--disable-shared 0: layer 0 is a dense layer (MoE layers: 1-27)";
    QTest::newRow("shared out of range")
        << ""
        << "40" << 0 << "--disable-shared 40: layer 40 out of range";
    QTest::newRow("k below 1")
        << ""
        << "" << -1 << "--top-k-experts -1: k must be between 1 and the 64 routed experts";
    QTest::newRow("k above experts")
        << ""
        << "" << 65 << "--top-k-experts 65: k must be between 1 and the 64";
    QTest::newRow("fewer than k left in one layer")
        << "2:0,2:1,2:2,all:3,all:4,all:5"
        << "" << 60 << "--disable: layer 2 keeps only 58 of 64 routed experts, fewer than k = 60";
  }
  void rejects_invalid_interventions() {
    QFETCH(QString, experts);
    QFETCH(QString, shared);
    QFETCH(int, top_k);
    QFETCH(QString, expected);
    Interventions in;
    if (!experts.isEmpty()) parse_disabled_experts(experts.toStdString(), in);
    if (!shared.isEmpty()) parse_disabled_shared(shared.toStdString(), in);
    if (top_k) in.top_k = top_k;
    QVERIFY_CONTAINS(engine_error_of([&] { in.validate(deepseek_moe_16b()); }), expected);
  }

  // Switching off shared experts a model does not have would silently change nothing.
  void shared_off_without_shared_experts_refused() {
    ModelConfig gshard = deepseek_moe_16b();
    gshard.n_shared_experts = 0;
    Interventions in;
    parse_disabled_shared("all", in);
    QVERIFY_CONTAINS(engine_error_of([&] { in.validate(gshard); }),
                     "--disable-shared all: this model has no shared experts to switch off");
  }

  // The DeepSeek-V3 interventions name what the model lacks: a bias, groups.
  void bias_and_group_interventions_need_them() {
    Interventions without_bias;
    without_bias.select_without_bias = true;
    QVERIFY_CONTAINS(engine_error_of([&] { without_bias.validate(deepseek_moe_16b()); }),
                     "--select-without-bias: this model's gate has no e_score_correction_bias");
    Interventions no_groups;
    no_groups.no_group_limit = true;
    QVERIFY_CONTAINS(engine_error_of([&] { no_groups.validate(deepseek_moe_16b()); }),
                     "--no-group-limit: this model does not route by groups of experts");
    ModelConfig v3 = deepseek_moe_16b();
    v3.score_correction_bias = true;
    v3.topk_method = TopkMethod::noaux_tc;
    v3.n_group = 8;
    v3.topk_group = 4;
    without_bias.validate(v3);
    no_groups.validate(v3);
    QVERIFY(!without_bias.empty() && !no_groups.empty());
  }

  void too_many_disabled_with_default_k() {
    Interventions in;
    for (int e = 0; e < 59; ++e) in.disabled_experts.emplace(Interventions::all_layers, e);
    QVERIFY_CONTAINS(engine_error_of([&] { in.validate(deepseek_moe_16b()); }),
                     "layer 1 keeps only 5 of 64 routed experts, fewer than k = 6");
  }

  void names_interleaved_moe_layers() {
    ModelConfig c = deepseek_moe_16b();
    c.num_hidden_layers = 8;
    c.moe_layer_freq = 2;  // MoE layers 2, 4, 6
    Interventions in;
    parse_disabled_experts("3:1", in);
    QVERIFY_CONTAINS(engine_error_of([&] { in.validate(c); }), "(MoE layers: 2, 4, 6)");
  }
};

QTEST_GUILESS_MAIN(TestInterventions)
#include "test_interventions.moc"
