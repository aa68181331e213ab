// config.json parsing: deepseek-moe-16b's own config, accepted variants, and one
// rejection per kind of malformed field.
#include <QDir>
#include <QTemporaryDir>
#include <QTest>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/config.h"
#include "model/config_keys.h"
#include "support/expect_error.h"

using namespace moescope;
using nlohmann::json;

namespace {

// deepseek-ai/deepseek-moe-16b-base config.json, verbatim.
const char* const deepseek_moe_16b = R"({
  "architectures": ["DeepseekForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "auto_map": {
    "AutoConfig": "configuration_deepseek.DeepseekConfig",
    "AutoModel": "modeling_deepseek.DeepseekModel",
    "AutoModelForCausalLM": "modeling_deepseek.DeepseekForCausalLM"
  },
  "aux_loss_alpha": 0.001,
  "bos_token_id": 100000,
  "eos_token_id": 100001,
  "first_k_dense_replace": 1,
  "hidden_act": "silu",
  "hidden_size": 2048,
  "initializer_range": 0.02,
  "intermediate_size": 10944,
  "max_position_embeddings": 4096,
  "model_type": "deepseek",
  "moe_intermediate_size": 1408,
  "moe_layer_freq": 1,
  "n_routed_experts": 64,
  "n_shared_experts": 2,
  "norm_topk_prob": false,
  "num_attention_heads": 16,
  "num_experts_per_tok": 6,
  "num_hidden_layers": 28,
  "num_key_value_heads": 16,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-06,
  "rope_scaling": null,
  "rope_theta": 10000,
  "scoring_func": "softmax",
  "seq_aux": true,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.36.0",
  "use_cache": true,
  "vocab_size": 102400
})";

// The 16b config with `patch` applied as a JSON merge patch (null removes a field).
std::string patched(const QByteArray& patch) {
  json config = json::parse(deepseek_moe_16b);
  config.merge_patch(json::parse(patch.toStdString()));
  return config.dump();
}

ModelConfig parse_patched(const QByteArray& patch) {
  return parse_model_config(patched(patch), "config.json");
}

// resources/configs/<file> (a real hub config of another family) with `patch` merged in.
ModelConfig parse_resource(const QString& file, const QByteArray& patch = "{}") {
  std::ifstream in(std::string(MOESCOPE_RESOURCES_DIR "/configs/") + file.toStdString());
  json config = json::parse(in);
  config.merge_patch(json::parse(patch.toStdString()));
  return parse_model_config(config.dump(), "config.json");
}

// Rows of TestConfig::malformed: rotary settings two spellings disagree on, or no type implements.
void add_rope_refusals() {
  QTest::newRow("bases disagree")
      << QByteArray(R"({"rope_theta": 10000,
                        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000}})")
      << R"(rope_theta 10000 (rope_theta) differs from 1e+06 (rope_parameters))";
  QTest::newRow("types disagree")
      << QByteArray(R"({"rope_scaling": {"type": "linear", "factor": 2},
                        "rope_parameters": {"rope_type": "default"}})")
      << R"(rope type "linear" (rope_scaling) differs from "default" (rope_parameters))";
  QTest::newRow("factors disagree")
      << QByteArray(R"({"rope_scaling": {"type": "linear", "factor": 2},
                        "rope_parameters": {"rope_type": "linear", "factor": 4}})")
      << R"(factor 2 (rope_scaling) differs from 4 (rope_parameters))";
  QTest::newRow("yarn, new spelling")
      << QByteArray(R"({"rope_parameters": {"rope_type": "yarn", "factor": 4,
                        "original_max_position_embeddings": 4096}})")
      << R"(rope_parameters: "rope_type" "yarn" is not supported (only "default" and "linear"))";
  QTest::newRow("llama3, new spelling")
      << QByteArray(R"({"rope_parameters": {"rope_type": "llama3", "factor": 8}})")
      << R"("llama3" is not supported)";
  QTest::newRow("type missing") << QByteArray(R"({"rope_parameters": {"rope_theta": 10000}})")
                                << R"(rope_parameters: "rope_type" missing)";
  QTest::newRow("a parameter the type does not have")
      << QByteArray(
             R"({"rope_parameters": {"rope_type": "default", "partial_rotary_factor": 0.5}})")
      << R"(rope_parameters: "partial_rotary_factor" is not supported with rope type "default")";
  QTest::newRow("type and rope_type disagree")
      << QByteArray(R"({"rope_scaling": {"type": "linear", "rope_type": "default", "factor": 2}})")
      << R"(rope_scaling: "type" "linear" differs from "rope_type" "default")";
  QTest::newRow("new base negative")
      << QByteArray(R"({"rope_parameters": {"rope_type": "default", "rope_theta": -5}})")
      << R"(rope_parameters: "rope_theta" must be positive)";
}

// Rows of TestConfig::malformed: keys that shape the model and are not implemented.
void add_key_refusals() {
  QTest::newRow("unknown rope key") << QByteArray(R"({"rope_interleaved": true})")
                                    << R"("rope_interleaved" is not understood, and its name says)";
  QTest::newRow("unknown expert key")
      << QByteArray(R"({"expert_capacity": 2})") << R"("expert_capacity" is not understood)";
  QTest::newRow("unknown attention key") << QByteArray(R"({"attn_logit_softcapping": 50})")
                                         << R"("attn_logit_softcapping" is not understood)";
  QTest::newRow("another family's key")
      << QByteArray(R"({"num_local_experts": 8})") << R"("num_local_experts" is not understood)";
  QTest::newRow("quantized") << QByteArray(R"({"quantization_config": {"quant_method": "gptq"}})")
                             << R"("quantization_config" is not supported: quantized)";
  QTest::newRow("DeepSeek-V2 routing") << QByteArray(R"({"topk_method": "group_limited_greedy"})")
                                       << R"("topk_method" is not supported: DeepSeek-V2/V3)";
}

// Rows of TestConfig::malformed: counts near 2^31 that would overflow widths and parameter
// counts, or make a reader loop for ever over layers.
void add_size_refusals() {
  QTest::newRow("hidden_size near 2^31")
      << QByteArray(R"({"hidden_size": 2147483584, "num_attention_heads": 64})")
      << R"("hidden_size" 2147483584 is more than any model has (at most 65536 here))";
  QTest::newRow("layers near 2^31") << QByteArray(R"({"num_hidden_layers": 2147483647})")
                                    << R"("num_hidden_layers" 2147483647 is more than any model)";
  QTest::newRow("shared width overflow")
      << QByteArray(R"({"moe_intermediate_size": 1048576, "n_shared_experts": 4096})")
      << R"("n_shared_experts" 4096 is more than any model has (at most 256 here))";
  QTest::newRow("vocab 2^30") << QByteArray(R"({"vocab_size": 1073741824})")
                              << R"("vocab_size" 1073741824 is more than any model)";
}

}  // namespace

class TestConfig : public QObject {
  Q_OBJECT

 private slots:
  void deepseek_moe_16b_fields() {
    const ModelConfig c = parse_model_config(deepseek_moe_16b, "config.json");
    QCOMPARE(c.model_type, "deepseek");
    QCOMPARE(c.architecture, "DeepseekForCausalLM");
    QCOMPARE(c.vocab_size, 102400);
    QCOMPARE(c.hidden_size, 2048);
    QCOMPARE(c.intermediate_size, 10944);
    QCOMPARE(c.num_hidden_layers, 28);
    QCOMPARE(c.num_attention_heads, 16);
    QCOMPARE(c.num_key_value_heads, 16);
    QCOMPARE(c.head_dim, 128);
    QCOMPARE(c.max_position_embeddings, 4096);
    QCOMPARE(c.rms_norm_eps, 1e-6f);
    QCOMPARE(c.rope_theta, 10000.0f);
    QCOMPARE(c.rope_linear_factor, 1.0f);
    QCOMPARE(c.tie_word_embeddings, false);
    QCOMPARE(c.bos_token_id, std::optional(100000));
    QCOMPARE(c.eos_token_id, std::optional(100001));
    QCOMPARE(c.torch_dtype, "bfloat16");
    QCOMPARE(c.n_routed_experts, 64);
    QCOMPARE(c.n_shared_experts, 2);
    QCOMPARE(c.num_experts_per_tok, 6);
    QCOMPARE(c.moe_intermediate_size, 1408);
    QCOMPARE(c.first_k_dense_replace, 1);
    QCOMPARE(c.moe_layer_freq, 1);
    QCOMPARE(c.norm_topk_prob, false);
    QCOMPARE(c.scoring_func, "softmax");
    QVERIFY(!c.is_moe_layer(0));
    QVERIFY(c.is_moe_layer(1));
    QVERIFY(c.is_moe_layer(27));
    QCOMPARE(c.num_moe_layers(), 27);
  }

  void accepted_variants() {
    QCOMPARE(parse_patched(R"({"eos_token_id": [7, 8]})").eos_token_id, std::optional(7));
    QCOMPARE(parse_patched(R"({"eos_token_id": null, "bos_token_id": null})").eos_token_id,
             std::nullopt);
    QCOMPARE(
        parse_patched(R"({"rope_scaling": {"type": "linear", "factor": 4}})").rope_linear_factor,
        4.0f);
    QCOMPARE(parse_patched(R"({"rope_scaling": {"rope_type": "linear", "factor": 2.5}})")
                 .rope_linear_factor,
             2.5f);
    const ModelConfig gqa = parse_patched(R"({"num_key_value_heads": 4})");
    QCOMPARE(gqa.num_key_value_heads, 4);
    QCOMPARE(parse_patched(R"({"num_key_value_heads": null})").num_key_value_heads, 16);
    QCOMPARE(parse_patched(R"({"n_shared_experts": null})").n_shared_experts, 0);
    QCOMPARE(parse_patched(R"({"some_future_field": {"x": 1}})").hidden_size, 2048);

    const ModelConfig every_other = parse_patched(R"({"moe_layer_freq": 2})");
    QVERIFY(!every_other.is_moe_layer(1));
    QVERIFY(every_other.is_moe_layer(2));
    QCOMPARE(every_other.num_moe_layers(), 13);
  }

  // transformers < 5 writes top-level rope_theta and rope_scaling, transformers 5 writes
  // rope_parameters; every spelling gives the same model, and none falls back to a default.
  void rope_spellings_data() {
    QTest::addColumn<QByteArray>("patch");
    QTest::addColumn<float>("theta");
    QTest::addColumn<float>("factor");
    QTest::newRow("top-level only") << QByteArray(R"({"rope_theta": 123456})") << 123456.0f << 1.0f;
    QTest::newRow("rope_parameters only") << QByteArray(R"({"rope_theta": null,
                          "rope_parameters": {"rope_type": "default", "rope_theta": 500000}})")
                                          << 500000.0f << 1.0f;
    QTest::newRow("rope_parameters linear") << QByteArray(R"({"rope_theta": null, "rope_parameters":
                          {"rope_type": "linear", "rope_theta": 250000, "factor": 3}})")
                                            << 250000.0f << 3.0f;
    QTest::newRow("both, agreeing") << QByteArray(R"({"rope_theta": 77777,
                          "rope_parameters": {"rope_type": "default", "rope_theta": 77777}})")
                                    << 77777.0f << 1.0f;
    QTest::newRow("old scaling and new parameters, agreeing")
        << QByteArray(R"({"rope_scaling": {"type": "linear", "factor": 2},
                          "rope_parameters": {"rope_type": "linear", "factor": 2}})")
        << 10000.0f << 2.0f;
    QTest::newRow("rope_scaling default type")
        << QByteArray(R"({"rope_scaling": {"rope_type": "default"}})") << 10000.0f << 1.0f;
  }
  void rope_spellings() {
    QFETCH(QByteArray, patch);
    QFETCH(float, theta);
    QFETCH(float, factor);
    const ModelConfig c = parse_patched(patch);
    QCOMPARE(c.rope_theta, theta);
    QCOMPARE(c.rope_linear_factor, factor);
  }

  // Every key of config.json is in the family's table, refused, or reported as not understood.
  void unknown_keys_are_reported() {
    const ModelConfig c =
        parse_patched(R"({"some_future_field": {"x": 1}, "tokenizer_class": "X"})");
    QCOMPARE(c.unrecognised_keys,
             (std::vector<std::string>{"some_future_field", "tokenizer_class"}));
    QVERIFY(parse_patched("{}").unrecognised_keys.empty());
    QVERIFY(parse_patched(R"({"rope_future": null})").unrecognised_keys.empty());  // null: absent
  }

  // A value nested 200 000 deep is refused where config.json is parsed (read raw: the
  // patching helpers would recurse over it themselves).
  void deep_nesting_refused() {
    const std::string text = R"({"model_type": "deepseek", "notes": )" + std::string(200000, '[') +
                             std::string(200000, ']') + "}";
    QVERIFY_CONTAINS(engine_error_of([&] { parse_model_config(text, "config.json"); }),
                     "config.json: nested deeper than 128 levels");
  }

  // The hub configs and every fixture (written by transformers 4 and 5) are fully understood.
  void real_configs_are_fully_understood() {
    QStringList files;
    for (const QString& f : QDir(MOESCOPE_RESOURCES_DIR "/configs").entryList({"*.json"}))
      files << QStringLiteral(MOESCOPE_RESOURCES_DIR "/configs/") + f;
    for (const char* root : {MOESCOPE_FIXTURES_DIR "/models", MOESCOPE_RESOURCES_DIR "/models"})
      for (const QString& d : QDir(root).entryList(QDir::Dirs | QDir::NoDotAndDotDot))
        files << QString(root) + "/" + d + "/config.json";
    QVERIFY(files.size() >= 16);
    for (const QString& file : files) {
      std::ifstream in(file.toStdString());
      std::stringstream text;
      text << in.rdbuf();
      const ModelConfig c = parse_model_config(text.str(), file.toStdString());
      QVERIFY2(c.unrecognised_keys.empty(), qPrintable(file));
    }
  }

  // docs/FAMILIES.md shows the tables the parser uses.
  void families_doc_shows_the_key_tables() {
    std::ifstream in(MOESCOPE_SOURCE_DIR "/docs/FAMILIES.md");
    std::stringstream text;
    text << in.rdbuf();
    const std::string doc = text.str();
    const std::string begin = "<!-- config-keys:begin (moescope::config_key_tables_markdown) -->\n";
    const std::string end = "<!-- config-keys:end -->";
    const auto a = doc.find(begin), b = doc.find(end);
    QVERIFY2(a != std::string::npos && b != std::string::npos,
             "markers missing in docs/FAMILIES.md");
    const std::string shown = doc.substr(a + begin.size(), b - a - begin.size());
    if (shown != config_key_tables_markdown()) {
      std::ofstream(QDir::temp().filePath("FAMILIES-keys.md").toStdString())
          << config_key_tables_markdown();
      QFAIL(
          "docs/FAMILIES.md's key tables differ from model/config_keys.cpp (the current tables "
          "are in FAMILIES-keys.md in the temporary folder)");
    }
  }

  void dense_models_data() {
    QTest::addColumn<QByteArray>("patch");
    QTest::newRow("n_routed_experts null") << QByteArray(R"({"n_routed_experts": null})");
    QTest::newRow("n_routed_experts 0") << QByteArray(R"({"n_routed_experts": 0})");
    // Without experts the MoE fields are not needed.
    QTest::newRow("no MoE fields")
        << QByteArray(R"({"n_routed_experts": null, "num_experts_per_tok": null,
                          "moe_intermediate_size": null, "n_shared_experts": null})");
  }
  void dense_models() {
    QFETCH(QByteArray, patch);
    const ModelConfig c = parse_patched(patch);
    QCOMPARE(c.n_routed_experts, 0);
    QCOMPARE(c.num_moe_layers(), 0);
    QVERIFY(!c.is_moe_layer(1));
  }

  // Every message names the file and the field (or the problem).
  void malformed_data() {
    QTest::addColumn<QByteArray>("patch");
    QTest::addColumn<QString>("expected");
    QTest::newRow("model_type llama")
        << QByteArray(R"({"model_type": "llama"})")
        << R"("model_type" "llama" is not supported (supported: "deepseek", "mixtral", )"
           R"("qwen2_moe", "olmoe", "qwen3_moe", "deepseek_v2", "deepseek_v3"))";
    QTest::newRow("model_type missing")
        << QByteArray(R"({"model_type": null})") << R"("model_type" missing)";
    QTest::newRow("model_type not a string")
        << QByteArray(R"({"model_type": 3})") << R"("model_type" must be a string (got number))";
    QTest::newRow("vocab_size missing")
        << QByteArray(R"({"vocab_size": null})") << R"("vocab_size" missing)";
    QTest::newRow("hidden_size a string") << QByteArray(R"({"hidden_size": "2048"})")
                                          << R"("hidden_size" must be an integer (got string))";
    QTest::newRow("hidden_size a float") << QByteArray(R"({"hidden_size": 2048.5})")
                                         << R"("hidden_size" must be an integer (got number))";
    QTest::newRow("hidden_size zero")
        << QByteArray(R"({"hidden_size": 0})") << R"("hidden_size" must be >= 1, got 0)";
    QTest::newRow("hidden_size beyond int") << QByteArray(R"({"hidden_size": 3000000000})")
                                            << R"("hidden_size" out of range: 3000000000)";
    QTest::newRow("hidden_size not divisible")
        << QByteArray(R"({"hidden_size": 2050})") << "not divisible by num_attention_heads 16";
    QTest::newRow("intermediate_size negative")
        << QByteArray(R"({"intermediate_size": -1})") << R"("intermediate_size" must be >= 1)";
    QTest::newRow("num_hidden_layers missing")
        << QByteArray(R"({"num_hidden_layers": null})") << R"("num_hidden_layers" missing)";
    QTest::newRow("num_attention_heads zero")
        << QByteArray(R"({"num_attention_heads": 0})") << R"("num_attention_heads" must be >= 1)";
    QTest::newRow("kv heads do not divide") << QByteArray(R"({"num_key_value_heads": 3})")
                                            << R"("num_key_value_heads" 3 does not divide)";
    QTest::newRow("max_position_embeddings zero")
        << QByteArray(R"({"max_position_embeddings": 0})") << R"("max_position_embeddings")";
    QTest::newRow("hidden_act gelu") << QByteArray(R"({"hidden_act": "gelu"})")
                                     << R"("hidden_act" "gelu" is not supported (only "silu"))";
    QTest::newRow("scoring_func sigmoid")
        << QByteArray(R"({"scoring_func": "sigmoid"})")
        << R"("scoring_func" "sigmoid" is not supported (only "softmax"))";
    QTest::newRow("attention_bias true")
        << QByteArray(R"({"attention_bias": true})") << R"("attention_bias" true is not supported)";
    QTest::newRow("attention_bias a string")
        << QByteArray(R"({"attention_bias": "no"})") << R"("attention_bias" must be a boolean)";
    QTest::newRow("rms_norm_eps a string") << QByteArray(R"({"rms_norm_eps": "1e-6"})")
                                           << R"("rms_norm_eps" must be a number (got string))";
    QTest::newRow("rms_norm_eps zero")
        << QByteArray(R"({"rms_norm_eps": 0})") << R"("rms_norm_eps" must be positive)";
    QTest::newRow("rope_theta negative")
        << QByteArray(R"({"rope_theta": -1})") << R"("rope_theta" must be positive)";
    QTest::newRow("rope_theta beyond a float (casting it was undefined behaviour)")
        << QByteArray(R"({"rope_theta": 1e300})")
        << R"("rope_theta" 1e+300 is outside the range of a 32-bit float)";
    QTest::newRow("rms_norm_eps rounding to 0 as a float")
        << QByteArray(R"({"rms_norm_eps": 1e-60})")
        << R"("rms_norm_eps" 1e-60 is outside the range of a 32-bit float)";
    QTest::newRow("rope_scaling yarn")
        << QByteArray(R"({"rope_scaling": {"type": "yarn", "factor": 4}})")
        << R"(rope_scaling: "type" "yarn" is not supported (only "default" and "linear"))";
    QTest::newRow("rope_scaling dynamic")
        << QByteArray(R"({"rope_scaling": {"type": "dynamic", "factor": 2}})") << R"("dynamic")";
    QTest::newRow("rope_scaling factor zero")
        << QByteArray(R"({"rope_scaling": {"type": "linear", "factor": 0}})")
        << R"(rope_scaling: "factor" must be positive)";
    QTest::newRow("rope_scaling factor missing")
        << QByteArray(R"({"rope_scaling": {"type": "linear"}})")
        << R"(rope_scaling: "factor" missing)";
    QTest::newRow("rope_scaling a number")
        << QByteArray(R"({"rope_scaling": 2})") << R"("rope_scaling" must be null or an object)";
    QTest::newRow("tie_word_embeddings a number") << QByteArray(R"({"tie_word_embeddings": 0})")
                                                  << R"("tie_word_embeddings" must be a boolean)";
    QTest::newRow("norm_topk_prob a number")
        << QByteArray(R"({"norm_topk_prob": 1})")
        << R"("norm_topk_prob" must be a boolean (got number))";
    QTest::newRow("eos_token_id a string") << QByteArray(R"({"eos_token_id": "</s>"})")
                                           << R"("eos_token_id" must be an integer (got string))";
    QTest::newRow("bos_token_id a float")
        << QByteArray(R"({"bos_token_id": 1.5})") << R"("bos_token_id" must be an integer)";
    QTest::newRow("architectures a string") << QByteArray(R"({"architectures": "Deepseek"})")
                                            << R"("architectures" must be an array of strings)";
    QTest::newRow("torch_dtype a number")
        << QByteArray(R"({"torch_dtype": 16})") << R"("torch_dtype" must be a string)";
    QTest::newRow("n_routed_experts negative") << QByteArray(R"({"n_routed_experts": -4})")
                                               << R"("n_routed_experts" must be >= 0, got -4)";
    QTest::newRow("n_routed_experts a string") << QByteArray(R"({"n_routed_experts": "64"})")
                                               << R"("n_routed_experts" must be an integer)";
    QTest::newRow("top-k zero") << QByteArray(R"({"num_experts_per_tok": 0})")
                                << R"("num_experts_per_tok" must be >= 1, got 0)";
    QTest::newRow("top-k missing")
        << QByteArray(R"({"num_experts_per_tok": null})") << R"("num_experts_per_tok" missing)";
    QTest::newRow("top-k above experts")
        << QByteArray(R"({"num_experts_per_tok": 65})")
        << R"("num_experts_per_tok" 65 exceeds n_routed_experts 64)";
    QTest::newRow("moe_intermediate_size zero") << QByteArray(R"({"moe_intermediate_size": 0})")
                                                << R"("moe_intermediate_size" must be >= 1)";
    QTest::newRow("n_shared_experts negative")
        << QByteArray(R"({"n_shared_experts": -1})") << R"("n_shared_experts" must be >= 0)";
    QTest::newRow("first_k_dense_replace negative")
        << QByteArray(R"({"first_k_dense_replace": -1})")
        << R"("first_k_dense_replace" must be >= 0)";
    QTest::newRow("moe_layer_freq zero")
        << QByteArray(R"({"moe_layer_freq": 0})") << R"("moe_layer_freq" must be >= 1)";
    add_rope_refusals();
    add_key_refusals();
    add_size_refusals();
  }

  void malformed() {
    QFETCH(QByteArray, patch);
    QFETCH(QString, expected);
    const std::string message = engine_error_of([&] { parse_patched(patch); });
    QVERIFY_CONTAINS(message, "config.json: ");
    QVERIFY_CONTAINS(message, expected);
  }

  void not_a_json_object_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("expected");
    QTest::newRow("empty") << QByteArray("") << "not valid JSON";
    QTest::newRow("truncated") << QByteArray("{\"model_type\": \"deep") << "not valid JSON";
    QTest::newRow("array") << QByteArray("[1, 2]") << "not a JSON object";
    // A number beyond a double (nlohmann's out_of_range 406, which carries no place) is an
    // EngineError naming the file and the field, wherever it stands.
    QTest::newRow("1e400 at the top level")
        << QByteArray(R"({"model_type": "deepseek", "rope_theta": 1e400})")
        << "not valid JSON: [json.exception.out_of_range.406] number overflow parsing '1e400' "
           "(at rope_theta)";
    QTest::newRow("-1e400 nested")
        << QByteArray(R"({"rope_scaling": {"type": "linear", "factor": -1e400}})")
        << "number overflow parsing '-1e400' (at rope_scaling.factor)";
    QTest::newRow("1e999 in an array") << QByteArray(R"({"eos_token_id": [1, 2, 1e999]})")
                                       << "number overflow parsing '1e999' (at eos_token_id[2])";
  }
  void not_a_json_object() {
    QFETCH(QByteArray, text);
    QFETCH(QString, expected);
    const std::string message =
        engine_error_of([&] { parse_model_config(text.toStdString(), "config.json"); });
    QVERIFY_CONTAINS(message, "config.json: ");
    QVERIFY_CONTAINS(message, expected);
  }

  // One real hub config per other family: where its fields land.
  void other_families_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<int>("family");
    QTest::addColumn<int>("experts");
    QTest::addColumn<int>("top_k");
    QTest::addColumn<int>("expert_width");
    QTest::addColumn<int>("shared_width");
    QTest::addColumn<int>("kv_heads");
    QTest::addColumn<bool>("norm_topk_prob");
    QTest::addColumn<float>("rope_theta");
    QTest::newRow("Mixtral-8x7B") << "mixtral-8x7b-v0.1.json" << int(Family::mixtral) << 8 << 2
                                  << 14336 << 0 << 8 << true << 1e6f;
    QTest::newRow("Qwen1.5-MoE-A2.7B") << "qwen1.5-moe-a2.7b.json" << int(Family::qwen2_moe) << 60
                                       << 4 << 1408 << 5632 << 16 << false << 1e6f;
    QTest::newRow("OLMoE-1B-7B") << "olmoe-1b-7b-0924.json" << int(Family::olmoe) << 64 << 8 << 1024
                                 << 0 << 16 << false << 1e4f;
    QTest::newRow("Qwen3-30B-A3B") << "qwen3-30b-a3b.json" << int(Family::qwen3_moe) << 128 << 8
                                   << 768 << 0 << 4 << true << 1e6f;
  }
  void other_families() {
    QFETCH(QString, file);
    QFETCH(int, family);
    QFETCH(int, experts);
    QFETCH(int, top_k);
    QFETCH(int, expert_width);
    QFETCH(int, shared_width);
    QFETCH(int, kv_heads);
    QFETCH(bool, norm_topk_prob);
    QFETCH(float, rope_theta);
    const ModelConfig c = parse_resource(file);
    QCOMPARE(int(c.family), family);
    QCOMPARE(c.n_routed_experts, experts);
    QCOMPARE(c.num_experts_per_tok, top_k);
    QCOMPARE(c.moe_intermediate_size, expert_width);
    QCOMPARE(c.shared_expert_intermediate_size, shared_width);
    QCOMPARE(c.n_shared_experts, shared_width > 0 ? 1 : 0);
    QCOMPARE(c.shared_expert_gated, c.family == Family::qwen2_moe);
    QCOMPARE(c.qkv_bias, c.family == Family::qwen2_moe);
    QCOMPARE(c.qk_norm, c.family == Family::olmoe);
    QCOMPARE(c.qk_norm_per_head, c.family == Family::qwen3_moe);
    QCOMPARE(c.head_dim,
             c.family == Family::qwen3_moe ? 128 : c.hidden_size / c.num_attention_heads);
    QCOMPARE(c.clip_qkv, std::nullopt);
    QCOMPARE(c.num_key_value_heads, kv_heads);
    QCOMPARE(c.norm_topk_prob, norm_topk_prob);
    QVERIFY(c.norm_single_expert);
    QCOMPARE(c.rope_theta, rope_theta);
    QCOMPARE(c.num_moe_layers(), c.num_hidden_layers);  // every layer is MoE on the hub
  }

  void other_family_variants() {
    const ModelConfig olmoe = parse_resource("olmoe-1b-7b-0924.json", R"({"clip_qkv": 8})");
    QCOMPARE(olmoe.clip_qkv, std::optional(8.0f));
    const ModelConfig mixtral =
        parse_resource("mixtral-8x7b-v0.1.json", R"({"sliding_window": 32768, "head_dim": 128})");
    QCOMPARE(mixtral.head_dim, 128);
    QVERIFY(!parse_resource("qwen1.5-moe-a2.7b.json", R"({"qkv_bias": false})").qkv_bias);
    // Qwen2-MoE's window only applies with use_sliding_window.
    QCOMPARE(parse_resource("qwen1.5-moe-a2.7b.json", R"({"sliding_window": 16})").n_routed_experts,
             60);
  }

  // Qwen2-MoE: MoE iff (layer + 1) % decoder_sparse_step == 0 and not in mlp_only_layers.
  void qwen2_moe_layers() {
    const ModelConfig c = parse_resource(
        "qwen1.5-moe-a2.7b.json", R"({"decoder_sparse_step": 2, "mlp_only_layers": [3, 7]})");
    std::vector<int> moe;
    for (int layer = 0; layer < c.num_hidden_layers; ++layer)
      if (c.is_moe_layer(layer)) moe.push_back(layer);
    QCOMPARE(moe, (std::vector<int>{1, 5, 9, 11, 13, 15, 17, 19, 21, 23}));
    QCOMPARE(c.num_moe_layers(), 10);
  }

  // Qwen3-MoE: the same layer choice; transformers 5's spelling of the expert count; without
  // head_dim, hidden_size / num_attention_heads.
  void qwen3_moe_variants() {
    const ModelConfig c = parse_resource("qwen3-30b-a3b.json",
                                         R"({"decoder_sparse_step": 2, "mlp_only_layers": [3]})");
    QCOMPARE(c.num_moe_layers(), 23);
    QVERIFY(!c.is_moe_layer(3));
    const ModelConfig t5 =
        parse_resource("qwen3-30b-a3b.json", R"({"num_experts": null, "num_local_experts": 64})");
    QCOMPARE(t5.n_routed_experts, 64);
    QCOMPARE(parse_resource("qwen3-30b-a3b.json", R"({"head_dim": null})").head_dim, 64);
  }

  void other_families_malformed_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("patch");
    QTest::addColumn<QString>("expected");
    const QString mixtral = "mixtral-8x7b-v0.1.json", qwen = "qwen1.5-moe-a2.7b.json",
                  olmoe = "olmoe-1b-7b-0924.json";
    QTest::newRow("mixtral num_local_experts missing")
        << mixtral << QByteArray(R"({"num_local_experts": null})")
        << R"("num_local_experts" missing)";
    QTest::newRow("mixtral top-k above experts")
        << mixtral << QByteArray(R"({"num_experts_per_tok": 9})")
        << R"("num_experts_per_tok" 9 exceeds num_local_experts 8)";
    QTest::newRow("mixtral sliding window")
        << mixtral << QByteArray(R"({"sliding_window": 4096})")
        << R"("sliding_window" 4096 is shorter than max_position_embeddings 32768)";
    QTest::newRow("mixtral head_dim")
        << mixtral << QByteArray(R"({"head_dim": 64})") << R"("head_dim" 64 differs)";
    QTest::newRow("qwen num_experts zero")
        << qwen << QByteArray(R"({"num_experts": 0})") << R"("num_experts" must be >= 1)";
    QTest::newRow("qwen shared expert missing")
        << qwen << QByteArray(R"({"shared_expert_intermediate_size": null})")
        << R"("shared_expert_intermediate_size" missing)";
    QTest::newRow("qwen moe_intermediate_size missing")
        << qwen << QByteArray(R"({"moe_intermediate_size": null})")
        << R"("moe_intermediate_size" missing)";
    QTest::newRow("qwen decoder_sparse_step zero")
        << qwen << QByteArray(R"({"decoder_sparse_step": 0})")
        << R"("decoder_sparse_step" must be >= 1)";
    QTest::newRow("qwen mlp_only_layers not a list")
        << qwen << QByteArray(R"({"mlp_only_layers": 3})")
        << R"("mlp_only_layers" must be an array)";
    QTest::newRow("qwen mlp_only_layers out of range")
        << qwen << QByteArray(R"({"mlp_only_layers": [24]})")
        << R"("mlp_only_layers" entry 24 is not a layer index in [0, 24))";
    QTest::newRow("qwen sliding window used")
        << qwen << QByteArray(R"({"use_sliding_window": true, "sliding_window": 4096})")
        << R"("sliding_window" 4096 is shorter)";
    QTest::newRow("qwen qkv_bias a string")
        << qwen << QByteArray(R"({"qkv_bias": "yes"})") << R"("qkv_bias" must be a boolean)";
    QTest::newRow("olmoe num_experts missing")
        << olmoe << QByteArray(R"({"num_experts": null})") << R"("num_experts" missing)";
    QTest::newRow("olmoe clip_qkv zero")
        << olmoe << QByteArray(R"({"clip_qkv": 0})") << R"("clip_qkv" must be positive)";
    QTest::newRow("olmoe attention_bias") << olmoe << QByteArray(R"({"attention_bias": true})")
                                          << R"("attention_bias" true is not supported)";
    QTest::newRow("olmoe hidden_act gelu")
        << olmoe << QByteArray(R"({"hidden_act": "gelu"})") << R"("hidden_act" "gelu")";
    const QString qwen3 = "qwen3-30b-a3b.json";
    QTest::newRow("qwen3 expert counts differ")
        << qwen3 << QByteArray(R"({"num_local_experts": 64})")
        << R"("num_local_experts" differs from "num_experts")";
    QTest::newRow("qwen3 head_dim zero")
        << qwen3 << QByteArray(R"({"head_dim": 0})") << R"("head_dim" must be >= 1)";
    QTest::newRow("qwen3 sliding window used")
        << qwen3 << QByteArray(R"({"use_sliding_window": true, "sliding_window": 4096})")
        << R"("sliding_window" 4096 is shorter)";
    QTest::newRow("qwen3 attention_bias") << qwen3 << QByteArray(R"({"attention_bias": true})")
                                          << R"("attention_bias" true is not supported)";
  }
  // DeepSeek-V2-Lite: MLA without the low-rank q, YaRN with its mscale terms, greedy top-k.
  void deepseek_v2_lite_fields() {
    const ModelConfig c = parse_resource("deepseek-v2-lite.json");
    QCOMPARE(int(c.family), int(Family::deepseek_v2));
    QVERIFY(c.mla);
    QCOMPARE(c.mla->q_lora_rank, 0);
    QCOMPARE(c.mla->kv_lora_rank, 512);
    QCOMPARE(c.mla->qk_nope_head_dim, 128);
    QCOMPARE(c.mla->qk_rope_head_dim, 64);
    QCOMPARE(c.mla->v_head_dim, 128);
    QVERIFY(c.mla->rope_interleave);
    QCOMPARE(c.head_dim, 192);
    QVERIFY(c.rope_yarn);
    QCOMPARE(c.rope_yarn->factor, 40.0);
    QCOMPARE(c.rope_yarn->original_max_position_embeddings, 4096);
    QCOMPARE(c.rope_yarn->mscale, std::optional(0.707));
    QCOMPARE(c.rope_yarn->mscale_all_dim, std::optional(0.707));
    QCOMPARE(int(c.topk_method), int(TopkMethod::greedy));
    QCOMPARE(c.n_group, 1);
    QCOMPARE(c.scoring_func, std::string("softmax"));
    QVERIFY(!c.score_correction_bias);
    QCOMPARE(c.n_shared_experts, 2);
    QCOMPARE(c.shared_expert_intermediate_size, 2 * 1408);
    QCOMPARE(c.num_moe_layers(), 26);  // first_k_dense_replace 1
    // The low-rank q path and group-limited routing of the full DeepSeek-V2.
    const ModelConfig v2 = parse_resource(
        "deepseek-v2-lite.json", R"({"q_lora_rank": 1536, "topk_method": "group_limited_greedy",
                                     "n_group": 8, "topk_group": 3, "routed_scaling_factor": 16})");
    QCOMPARE(v2.mla->q_lora_rank, 1536);
    QCOMPARE(int(v2.topk_method), int(TopkMethod::group_limited_greedy));
    QCOMPARE(v2.n_group, 8);
    QCOMPARE(v2.topk_group, 3);
    QCOMPARE(v2.routed_scaling_factor, 16.0f);
  }

  // DeepSeek-V3 (as its bf16 release: no quantization_config) and Moonlight: sigmoid scores,
  // the selection bias, noaux_tc groups; multi-token prediction is ignored by name.
  void deepseek_v3_fields() {
    const ModelConfig c = parse_resource("deepseek-v3.json");
    QCOMPARE(int(c.family), int(Family::deepseek_v3));
    QCOMPARE(c.scoring_func, std::string("sigmoid"));
    QVERIFY(c.score_correction_bias);
    QCOMPARE(int(c.topk_method), int(TopkMethod::noaux_tc));
    QCOMPARE(c.n_group, 8);
    QCOMPARE(c.topk_group, 4);
    QVERIFY(c.norm_topk_prob);
    QVERIFY(c.norm_single_expert);
    QCOMPARE(c.routed_scaling_factor, 2.5f);
    QCOMPARE(c.mla->q_lora_rank, 1536);
    QCOMPARE(c.num_moe_layers(), 58);      // first_k_dense_replace 3 of 61
    QVERIFY(c.unrecognised_keys.empty());  // num_nextn_predict_layers is a known, ignored key
    const ModelConfig moonlight = parse_resource("moonlight-16b-a3b.json");
    QCOMPARE(moonlight.n_group, 1);
    QCOMPARE(moonlight.mla->q_lora_rank, 0);
    QVERIFY(!moonlight.rope_yarn);
    QCOMPARE(moonlight.rope_theta, 50000.0f);
    QVERIFY(
        !parse_resource("deepseek-v3.json", R"({"rope_interleave": false})").mla->rope_interleave);
  }

  void deepseek_v2_v3_malformed_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QByteArray>("patch");
    QTest::addColumn<QString>("expected");
    const QString v2 = "deepseek-v2-lite.json", v3 = "deepseek-v3.json";
    QTest::newRow("v3 fp8 checkpoint")
        << v3
        << QByteArray(R"({"quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
                          "quant_method": "fp8", "weight_block_size": [128, 128]}})")
        << R"("quantization_config" FP8 weights with block scales (quant_method "fp8") are not supported)";
    QTest::newRow("v3 other quantization")
        << v3 << QByteArray(R"({"quantization_config": {"quant_method": "awq"}})")
        << R"("quantization_config" is not supported)";
    QTest::newRow("v3 softmax") << v3 << QByteArray(R"({"scoring_func": "softmax"})")
                                << R"("scoring_func" "softmax" is not supported (only "sigmoid"))";
    QTest::newRow("v3 greedy") << v3 << QByteArray(R"({"topk_method": "greedy"})")
                               << R"("topk_method" "greedy" is not supported (only "noaux_tc"))";
    QTest::newRow("v3 groups of one") << v3 << QByteArray(R"({"n_group": 256, "topk_group": 8})")
                                      << R"("n_group" leaves groups of one expert)";
    QTest::newRow("v2 noaux_tc") << v2 << QByteArray(R"({"topk_method": "noaux_tc"})")
                                 << R"("topk_method" "noaux_tc" is not supported for deepseek_v2)";
    QTest::newRow("v2 norm_topk_prob") << v2 << QByteArray(R"({"norm_topk_prob": true})")
                                       << R"("norm_topk_prob" true is not supported)";
    QTest::newRow("group count does not divide")
        << v2 << QByteArray(R"({"topk_method": "group_limited_greedy", "n_group": 5})")
        << R"("n_group" 5 does not divide n_routed_experts 64)";
    QTest::newRow("more groups kept than there are")
        << v2
        << QByteArray(R"({"topk_method": "group_limited_greedy", "n_group": 4, "topk_group": 5})")
        << R"("topk_group" 5 exceeds n_group 4)";
    QTest::newRow("k beyond the kept groups")
        << v2
        << QByteArray(R"({"topk_method": "group_limited_greedy", "n_group": 32, "topk_group": 2})")
        << R"("num_experts_per_tok" 6 exceeds the 4 experts of topk_group groups)";
    QTest::newRow("kv_lora_rank beyond any model")
        << v2 << QByteArray(R"({"kv_lora_rank": 1048576})")
        << R"("kv_lora_rank" 1048576 is more than any model has (at most 65536 here))";
    QTest::newRow("kv_lora_rank missing")
        << v2 << QByteArray(R"({"kv_lora_rank": null})") << R"("kv_lora_rank" missing)";
    QTest::newRow("odd rope width")
        << v2 << QByteArray(R"({"qk_rope_head_dim": 63})") << R"("qk_rope_head_dim" 63 is odd)";
    QTest::newRow("head_dim disagrees") << v2 << QByteArray(R"({"head_dim": 192})")
                                        << R"("head_dim" 192 differs from qk_rope_head_dim 64)";
    QTest::newRow("qk_head_dim disagrees")
        << v2 << QByteArray(R"({"qk_head_dim": 128})") << R"("qk_head_dim" 128 differs)";
    QTest::newRow("grouped kv heads")
        << v2 << QByteArray(R"({"num_key_value_heads": 4})")
        << R"("num_key_value_heads" 4 differs from num_attention_heads)";
    QTest::newRow("v2 half-split rope") << v2 << QByteArray(R"({"rope_interleave": false})")
                                        << R"("rope_interleave" false is not supported)";
    QTest::newRow("yarn without factor")
        << v2 << QByteArray(R"({"rope_scaling": {"factor": null}})")
        << R"(rope_scaling: "factor" missing)";
    QTest::newRow("yarn with an unknown field")
        << v2 << QByteArray(R"({"rope_scaling": {"low_freq_factor": 1}})")
        << R"(rope_scaling: "low_freq_factor" is not supported with rope type "yarn")";
    QTest::newRow("yarn spellings disagree")
        << v2 << QByteArray(R"({"rope_parameters": {"rope_type": "yarn", "factor": 8,
                              "original_max_position_embeddings": 4096}})")
        << R"(the yarn settings of rope_parameters differ)";
    QTest::newRow("mlp_bias") << v2 << QByteArray(R"({"mlp_bias": true})")
                              << R"("mlp_bias" true is not supported)";
  }
  void deepseek_v2_v3_malformed() { other_families_malformed(); }

  void other_families_malformed() {
    QFETCH(QString, file);
    QFETCH(QByteArray, patch);
    QFETCH(QString, expected);
    const std::string message = engine_error_of([&] { parse_resource(file, patch); });
    QVERIFY_CONTAINS(message, "config.json: ");
    QVERIFY_CONTAINS(message, expected);
  }

  void load_from_directory() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::filesystem::path root = dir.path().toStdString();
    const std::string missing = engine_error_of([&] { load_model_config(root); });
    QVERIFY_CONTAINS(missing,
                     QString::fromStdString((root / "config.json").string() + ": not found"));

    std::ofstream(root / "config.json") << deepseek_moe_16b;
    QCOMPARE(load_model_config(root).n_routed_experts, 64);

    std::ofstream(root / "config.json") << patched(R"({"hidden_act": "relu"})");
    const std::string bad = engine_error_of([&] { load_model_config(root); });
    QVERIFY_CONTAINS(bad, QString::fromStdString((root / "config.json").string()));
    QVERIFY_CONTAINS(bad, "\"relu\"");
  }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "test_config.moc"
