// moescope-cli end to end on the fixture model: `info`, `generate` with a
// routing snapshot, `experiment` with its exports, and one clean error line
// (exit code 1) per kind of mistake.
#include <sys/stat.h>

#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "io/snapshot.h"
#ifdef MOESCOPE_CONTRACT_SERVER
#include "contract/contract_server.h"
#endif

using namespace moescope;
namespace fs = std::filesystem;

namespace {

const QString cli_path = QStringLiteral(MOESCOPE_CLI_PATH);
const fs::path model_dir = fs::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32";

struct Run {
  QProcess::ExitStatus status = QProcess::CrashExit;
  int code = -1;
  QString out, err;
};

Run run_cli(const QStringList& args, const QByteArray& input = {}) {
  QProcess p;
  p.start(cli_path, args);
  Run r;
  if (!p.waitForStarted(10000)) {
    r.err = QStringLiteral("could not start %1: %2").arg(cli_path, p.errorString());
    return r;
  }
  p.write(input);
  p.closeWriteChannel();
  if (!p.waitForFinished(60000)) {
    p.kill();
    p.waitForFinished();
    r.err = QStringLiteral("timed out");
    return r;
  }
  r.status = p.exitStatus();
  r.code = p.exitCode();
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

QString q(const fs::path& p) {
  return QString::fromStdString(p.string());
}

QString describe(const Run& r) {
  return QStringLiteral("exit %1 (%2)\n--- stdout:\n%3\n--- stderr:\n%4")
      .arg(r.code)
      .arg(r.status == QProcess::NormalExit ? "normal" : "crash")
      .arg(r.out, r.err);
}

}  // namespace

class TestCli : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  fs::path bad_type_, truncated_;  // broken copies of the fixture
  fs::path chat_;                  // the fixture with deepseek-moe-16b-chat's template

 private slots:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    QVERIFY2(QFileInfo(cli_path).isExecutable(), qPrintable(cli_path));
    const fs::path root = tmp_.path().toStdString();

    bad_type_ = root / "llama-type";
    fs::copy(model_dir, bad_type_);
    nlohmann::json config = nlohmann::json::parse(std::ifstream(bad_type_ / "config.json"));
    config["model_type"] = "llama";
    std::ofstream(bad_type_ / "config.json") << config.dump(2);

    truncated_ = root / "truncated";
    fs::copy(model_dir, truncated_);
    const fs::path weights = truncated_ / "model.safetensors";
    fs::resize_file(weights, fs::file_size(weights) / 2);

    chat_ = root / "chat";
    fs::copy(model_dir, chat_);
    nlohmann::json tokenizer_config =
        nlohmann::json::parse(std::ifstream(chat_ / "tokenizer_config.json"));
    tokenizer_config["chat_template"] = nlohmann::json::parse(
        std::ifstream(fs::path(MOESCOPE_FIXTURES_DIR) /
                      "tokenizers/deepseek-moe-16b/tokenizer_config.json"))["chat_template"];
    std::ofstream(chat_ / "tokenizer_config.json") << tokenizer_config.dump(2);
  }

  // The other families: architecture, layer kinds and the expert layout.
  void info_families_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("architecture");
    QTest::addColumn<QString>("layers");
    QTest::addColumn<QString>("experts");
    QTest::newRow("mixtral") << "mixtral-bf16-sharded"
                             << "MixtralForCausalLM (model_type mixtral)"
                             << "2  (dense: none; MoE: 0-1)"
                             << "8 routed (48 wide), top-2, 0 shared; gate softmax, top-k weights "
                                "normalised";
    QTest::newRow("qwen2_moe") << "qwen2moe-f32"
                               << "Qwen2MoeForCausalLM (model_type qwen2_moe)"
                               << "3  (dense: 1; MoE: 0, 2)"
                               << "12 routed (24 wide), top-4, 1 shared (64 wide, sigmoid-gated)";
    QTest::newRow("olmoe") << "olmoe-f16"
                           << "OlmoeForCausalLM (model_type olmoe)"
                           << "2  (dense: none; MoE: 0-1)"
                           << "16 routed (32 wide), top-4, 0 shared; gate softmax, raw top-k";
  }
  void info_families() {
    QFETCH(QString, model);
    QFETCH(QString, architecture);
    QFETCH(QString, layers);
    QFETCH(QString, experts);
    const Run r =
        run_cli({"info", "--model", QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/") + model});
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.contains("architecture:   " + architecture), qPrintable(r.out));
    QVERIFY2(r.out.contains("layers:         " + layers), qPrintable(r.out));
    QVERIFY2(r.out.contains("experts:        " + experts), qPrintable(r.out));
  }

  void info() {
    const Run r = run_cli({"info", "--model", q(model_dir)});
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.contains("model:          dense-lead-f32"), qPrintable(r.out));
    QVERIFY2(r.out.contains("layers:         3  (dense: 0; MoE: 1-2)"), qPrintable(r.out));
    QVERIFY2(r.out.contains("experts:        16 routed (32 wide), top-4, 2 shared"),
             qPrintable(r.out));
    QVERIFY2(r.out.contains("vocabulary:     512"), qPrintable(r.out));
    const QStringList lines = r.out.split('\n');
    const auto parameters = std::find_if(
        lines.begin(), lines.end(), [](const QString& l) { return l.startsWith("parameters:"); });
    QVERIFY2(parameters != lines.end(), qPrintable(r.out));
    QVERIFY2(parameters->contains(" total, ") && parameters->contains(" active per token"),
             qPrintable(*parameters));
  }

  // A config alone: the published sizes of deepseek-moe-16b, no weights needed.
  void info_from_config() {
    const Run r =
        run_cli({"info", "--config", MOESCOPE_RESOURCES_DIR "/configs/deepseek-moe-16b-base.json"});
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.contains("parameters:     16.38 B total, 2.83 B active per token"),
             qPrintable(r.out));
    QVERIFY2(r.out.contains("30.50 GiB of weights (if stored in that dtype)"), qPrintable(r.out));
  }

  // info reports the base transformers 5 wrote in rope_parameters, lists config keys it
  // does not understand, and refuses one whose name says it shapes the model.
  void info_reads_every_key() {
    QTemporaryDir tmp;
    const auto with_config = [&](const QString& name, const QByteArray& text) {
      const QString path = tmp.filePath(name);
      QFile f(path);
      f.open(QIODevice::WriteOnly);
      f.write(text);
      return path;
    };
    QFile real(QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/mixtral-t5/config.json"));
    QVERIFY(real.open(QIODevice::ReadOnly));
    const QByteArray t5 = real.readAll();
    const Run plain = run_cli({"info", "--config", with_config("plain.json", t5)});
    QVERIFY2(plain.code == 0, qPrintable(describe(plain)));
    QVERIFY2(plain.out.contains("RoPE theta 31337"), qPrintable(plain.out));
    QVERIFY2(!plain.out.contains("not understood"), qPrintable(plain.out));
    QByteArray extra = t5;
    extra.replace("\"vocab_size\"", "\"tokenizer_class\": \"X\", \"vocab_size\"");
    const Run unknown = run_cli({"info", "--config", with_config("extra.json", extra)});
    QVERIFY2(unknown.code == 0, qPrintable(describe(unknown)));
    QVERIFY2(unknown.out.contains("not understood: tokenizer_class"), qPrintable(unknown.out));
    QByteArray shaping = t5;
    shaping.replace("\"vocab_size\"", "\"rope_interleaved\": true, \"vocab_size\"");
    const Run refused = run_cli({"info", "--config", with_config("shaping.json", shaping)});
    QVERIFY2(refused.code != 0 && refused.status == QProcess::NormalExit,
             qPrintable(describe(refused)));
    QVERIFY2(refused.err.contains("shaping.json: \"rope_interleaved\" is not understood"),
             qPrintable(refused.err));
  }

  // Sampling settings that mean nothing are refused when the command line is read, with a
  // short message (CLI11's own ranges let NaN through and print 309-digit bounds).
  void meaningless_sampling_refused_data() {
    QTest::addColumn<QStringList>("flags");
    QTest::addColumn<QString>("message");
    QTest::newRow("temperature nan")
        << QStringList{"--temperature", "nan"} << "nan is not in [0, 1e6]";
    QTest::newRow("temperature -1")
        << QStringList{"--temperature", "-1"} << "-1 is not in [0, 1e6]";
    QTest::newRow("top-p 0") << QStringList{"--top-p", "0"} << "0 is not in (0, 1]";
    QTest::newRow("top-p inf") << QStringList{"--top-p", "inf"} << "inf is not in (0, 1]";
    QTest::newRow("max-tokens -1")
        << QStringList{"--max-tokens", "-1"} << "-1 is not in [0, 1000000000]";
    QTest::newRow("seed -1") << QStringList{"--seed", "-1"}
                             << "-1 is not in [0, 9223372036854775807]";
  }
  void meaningless_sampling_refused() {
    QFETCH(QStringList, flags);
    QFETCH(QString, message);
    const Run r =
        run_cli(QStringList{"generate", "--model", q(model_dir), "--prompt", "Hi"} + flags);
    QVERIFY2(r.status == QProcess::NormalExit && r.code != 0, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(message), qPrintable(describe(r)));
    QVERIFY2(r.err.size() < 300, qPrintable(r.err));
    QVERIFY2(r.out.isEmpty(), qPrintable(r.out));
  }

  // Every int flag has a range with a short message: no CLI11 bound of 309 digits, no
  // "Could not convert", and no int overflowing further on (--window 2^31 - 1 reached the
  // evaluation and ended as "unexpected error: vector::_M_default_append").
  void int_flags_refused_with_short_messages_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const QStringList generate = {"generate", "--model", q(model_dir), "--prompt", "Hi"};
    const QStringList experiment = {"experiment", "locality", "--model", q(model_dir), "--quiet"};
    QTest::newRow("--max-tokens 1.5")
        << generate + QStringList{"--max-tokens", "1.5"} << "'1.5' is not a whole number";
    QTest::newRow("--max-tokens 2^64")
        << generate + QStringList{"--max-tokens", "18446744073709551616"}
        << "18446744073709551616 is not in [0, 1000000000]";
    QTest::newRow("--top-k-experts 0")
        << generate + QStringList{"--top-k-experts", "0"} << "0 is not in [1, 2147483647]";
    QTest::newRow("--tokens-per-text 99999999999")
        << experiment + QStringList{"--tokens-per-text", "99999999999"}
        << "99999999999 is not in [1, 100000000]";
    QTest::newRow("--window 0") << experiment + QStringList{"--window", "0"}
                                << "--window: 0 is not in [1, 100000000]";
    QTest::newRow("--window 2^31 - 1") << experiment + QStringList{"--window", "2147483647"}
                                       << "2147483647 is not in [1, 100000000]";
    QTest::newRow("--window beyond the context")
        << experiment + QStringList{"--window", "5000", "--tokens-per-text", "5000"}
        << "moescope-cli: error: --window 5000: beyond dense-lead-f32's max_position_embeddings "
           "of 4096";
    QTest::newRow("--layer -1") << experiment + QStringList{"--layer", "-1"}
                                << "-1 is not in [0, 2147483647]";
    QTest::newRow("--experts x") << experiment + QStringList{"--experts", "x"}
                                 << "'x' is not a whole number";
  }
  void int_flags_refused_with_short_messages() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const Run r = run_cli(args);
    QVERIFY2(r.status == QProcess::NormalExit && r.code != 0, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(message), qPrintable(describe(r)));
    QVERIFY2(!r.err.contains("unexpected error") && !r.err.contains("Could not convert"),
             qPrintable(describe(r)));
    QVERIFY2(r.err.size() < 300, qPrintable(r.err));
  }

  // Files that are not what they claim to be: a FIFO as --config does not block, a number
  // beyond a double is named by its field, and neither reaches "unexpected error".
  void unreadable_config_files_refused_data() {
    QTest::addColumn<QString>("file");  // "%fifo", "%dir", or the file's contents
    QTest::addColumn<QString>("message");
    QTest::newRow("a FIFO") << "%fifo"
                            << "fifo.json: not a regular file";
    QTest::newRow("a directory") << "%dir"
                                 << "dir.json: not a regular file";
    QTest::newRow("rope_theta 1e400") << R"({"model_type": "mixtral", "rope_theta": 1e400})"
                                      << "number overflow parsing '1e400' (at rope_theta)";
  }
  void unreadable_config_files_refused() {
    QFETCH(QString, file);
    QFETCH(QString, message);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path root = dir.path().toStdString();
    fs::path path = root / "config.json";
    if (file == "%fifo") {
      path = root / "fifo.json";
      QCOMPARE(::mkfifo(path.c_str(), 0600), 0);
    } else if (file == "%dir") {
      path = root / "dir.json";
      fs::create_directory(path);
    } else {
      std::ofstream(path) << file.toStdString();
    }
    const Run r = run_cli({"info", "--config", q(path)});
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 1, qPrintable(describe(r)));
    QVERIFY2(r.err.contains("moescope-cli: error: ") && r.err.contains(message),
             qPrintable(describe(r)));
  }

  void generate_with_snapshot() {
    QTemporaryDir out;
    QVERIFY(out.isValid());
    const fs::path json_path = fs::path(out.path().toStdString()) / "run.json";
    const Run r = run_cli({"generate", "--model", q(model_dir), "--backend", "cpu", "--prompt",
                           "Hello world", "--max-tokens", "8", "--json", q(json_path)});
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.startsWith("Hello world"), qPrintable(r.out));
    QVERIFY2(r.out.contains("routing summary: 8 prompt + 8 generated tokens, top-4 of 16 routed "
                            "experts + 2 shared"),
             qPrintable(r.out));
    // One summary row per MoE layer: layer, then 16 tokens through it.
    QVERIFY2(r.out.contains(QRegularExpression("\n +1 +16 ")), qPrintable(r.out));
    QVERIFY2(r.out.contains(QRegularExpression("\n +2 +16 ")), qPrintable(r.out));
    QVERIFY2(!r.out.contains(QRegularExpression("\n +0 +16 ")), qPrintable(r.out));
    QVERIFY2(!r.err.contains("error"), qPrintable(r.err));

    const RoutingSnapshot s = read_snapshot(json_path);
    QCOMPARE(QString::fromStdString(s.prompt), QString("Hello world"));
    QCOMPARE(s.sampling.max_tokens, 8);
    int prompt = 0, generated = 0;
    for (const SnapshotToken& t : s.tokens) {
      (t.routing.is_prompt ? prompt : generated) += 1;
      QCOMPARE(int(t.routing.layers.size()), 2);
      for (const LayerRouting& l : t.routing.layers) QCOMPARE(int(l.expert_ids.size()), 4);
    }
    QCOMPARE(generated, 8);
    QCOMPARE(prompt, 8);  // BOS + 7 pieces of "Hello world"
  }

  // A local run's routing written as vLLM and SGLang answers and imported again: the same
  // tokens and expert ids, now ids_only (docs/REMOTE.md).
  void routing_export_import_round_trip() {
    QTemporaryDir out;
    const fs::path dir = out.path().toStdString();
    Run r =
        run_cli({"generate", "--model", q(model_dir), "--backend", "cpu", "--prompt", "Hello world",
                 "--max-tokens", "6", "--no-summary", "--json", q(dir / "local.json")});
    QVERIFY2(r.code == 0, qPrintable(describe(r)));
    const RoutingSnapshot local = read_snapshot(dir / "local.json");
    for (const QString engine : {"vllm", "sglang"}) {
      const fs::path answer = dir / (engine.toStdString() + ".json");
      const fs::path back = dir / (engine.toStdString() + "-back.json");
      r = run_cli({"export-routing", "--snapshot", q(dir / "local.json"), "--engine", engine,
                   "--out", q(answer)});
      QVERIFY2(r.code == 0, qPrintable(describe(r)));
      r = run_cli(
          {"import-routing", "--from", q(answer), "--config", q(model_dir), "--out", q(back)});
      QVERIFY2(r.code == 0, qPrintable(describe(r)));
      const RoutingSnapshot imported = read_snapshot(back);
      QCOMPARE(QString::fromStdString(imported.backend), engine);
      QVERIFY(imported.routing_detail == RoutingDetail::ids_only);
      QCOMPARE(imported.tokens.size(), local.tokens.size());
      for (std::size_t t = 0; t < local.tokens.size(); ++t) {
        QCOMPARE(imported.tokens[t].routing.token_id, local.tokens[t].routing.token_id);
        QCOMPARE(imported.tokens[t].text, local.tokens[t].text);
        QCOMPARE(imported.tokens[t].routing.layers.size(), local.tokens[t].routing.layers.size());
        for (std::size_t l = 0; l < local.tokens[t].routing.layers.size(); ++l)
          QVERIFY(imported.tokens[t].routing.layers[l].expert_ids ==
                  local.tokens[t].routing.layers[l].expert_ids);
      }
    }
    r = run_cli({"generate", "--model", q(model_dir), "--backend", "cpu", "--prompt", "Hi",
                 "--max-tokens", "2", "--no-summary", "--top-k-experts", "2", "--json",
                 q(dir / "k2.json")});
    QVERIFY2(r.code == 0, qPrintable(describe(r)));
    r = run_cli({"export-routing", "--snapshot", q(dir / "k2.json"), "--engine", "vllm", "--out",
                 q(dir / "k2-vllm.json")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("changed k; a server's routing never does"), qPrintable(r.err));
  }

#ifdef MOESCOPE_CONTRACT_SERVER
  // generate --server against the loopback contract server (tests/contract/).
  void generate_on_a_server() {
    using namespace moescope::test;
    ContractServer server(ServerEngine::sglang, Fault::none, "k3y");
    QTemporaryDir out;
    const fs::path snapshot = fs::path(out.path().toStdString()) / "served.json";
    qputenv("MOESCOPE_TEST_KEY", "k3y");
    Run r =
        run_cli({"generate", "--server", QString::fromStdString(server.url()), "--engine", "sglang",
                 "--model", "tiny", "--config", q(model_dir), "--api-key-env", "MOESCOPE_TEST_KEY",
                 "--prompt", "Hello world", "--max-tokens", "4", "--json", q(snapshot)});
    QVERIFY2(r.code == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.contains("routing summary: 8 prompt + 4 generated tokens"), qPrintable(r.out));
    QVERIFY2(r.out.contains(QRegularExpression("\n +1 +11 ")),
             qPrintable(r.out));  // 12 less the last
    const RoutingSnapshot s = read_snapshot(snapshot);
    QCOMPARE(s.tokens.size(), std::size_t(12));
    QCOMPARE(QString::fromStdString(s.backend), QString("sglang"));

    r = run_cli({"generate", "--server", QString::fromStdString(server.url()), "--engine", "sglang",
                 "--model", "tiny", "--config", q(model_dir), "--prompt", "Hi"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("HTTP 401"), qPrintable(r.err));
  }
#endif

  // --chat: the prompt as one user turn of the model's template, BOS once.
  void generate_chat() {
    QTemporaryDir out;
    QVERIFY(out.isValid());
    const fs::path json_path = fs::path(out.path().toStdString()) / "chat.json";
    const Run r = run_cli({"generate", "--model", q(chat_), "--backend", "cpu", "--prompt",
                           "Hello world", "--max-tokens", "4", "--chat", "--json", q(json_path)});
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.startsWith("<s>User: Hello world\n\nAssistant:"), qPrintable(r.out));
    const RoutingSnapshot s = read_snapshot(json_path);
    QCOMPARE(QString::fromStdString(s.prompt), QString("<s>User: Hello world\n\nAssistant:"));
    int prompt = 0, bos = 0;
    for (const SnapshotToken& t : s.tokens) {
      prompt += t.routing.is_prompt;
      bos += t.routing.token_id == 1;
    }
    QCOMPARE(bos, 1);  // the template's; the tokenizer adds none
    QCOMPARE(s.tokens.front().routing.token_id, 1);
    QVERIFY(prompt > 8);  // more than "Hello world" alone (BOS + 7)

    const Run system = run_cli({"generate", "--model", q(chat_), "--backend", "cpu", "--prompt",
                                "Hi", "--max-tokens", "1", "--chat", "--system", "Be brief."});
    QVERIFY2(system.code == 0 && system.out.startsWith("<s>Be brief.\n\nUser: Hi\n\nAssistant:"),
             qPrintable(describe(system)));
    const Run no_chat = run_cli({"generate", "--model", q(chat_), "--backend", "cpu", "--prompt",
                                 "Hi", "--system", "Be brief."});
    QVERIFY2(no_chat.code != 0 && no_chat.err.contains("--chat"), qPrintable(describe(no_chat)));
  }

  // `chat`: one user message per stdin line; later turns reuse the KV cache.
  void chat_turns_from_stdin() {
    const Run r = run_cli({"chat", "--model", q(chat_), "--backend", "cpu", "--max-tokens", "3",
                           "--temperature", "0"},
                          "Hello\nWhich experts?\n\nBye\n");
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
    QCOMPARE(r.out.count('\n'), 3);  // one reply per non-empty line
    const QRegularExpression turn(
        QStringLiteral("\\[turn (\\d): (\\d+) prompt tokens run, (\\d+) reused from the KV cache"));
    auto it = turn.globalMatch(r.err);
    QList<int> reused;
    while (it.hasNext()) reused << it.next().captured(3).toInt();
    QCOMPARE(reused.size(), 3);
    QCOMPARE(reused[0], 0);
    QVERIFY2(reused[1] > 8 && reused[2] > reused[1], qPrintable(r.err));
    const Run plain = run_cli({"chat", "--model", q(model_dir), "--backend", "cpu"}, "Hi\n");
    QVERIFY2(plain.code == 1 && plain.err.contains("moescope-cli: error:") &&
                 plain.err.contains("has no chat_template"),
             qPrintable(describe(plain)));
  }

  // check: the engine against a reference run; a corrupted reference fails by name.
  void check_against_golden() {
    const fs::path golden = fs::path(MOESCOPE_FIXTURES_DIR) / "golden/dense-lead-f32.plain.json";
    const Run ok =
        run_cli({"check", "--model", q(model_dir), "--backend", "cpu", "--golden", q(golden)});
    QVERIFY2(ok.code == 0 && ok.out.contains("OK: the same logits and the same experts"),
             qPrintable(describe(ok)));
    nlohmann::json bad = nlohmann::json::parse(std::ifstream(golden));
    for (auto& v : bad["logits"][4]) v = v.get<double>() + 0.5;
    const fs::path bad_path = fs::path(tmp_.path().toStdString()) / "bad-golden.json";
    std::ofstream(bad_path) << bad.dump();
    const Run wrong =
        run_cli({"check", "--model", q(model_dir), "--backend", "cpu", "--golden", q(bad_path)});
    QVERIFY2(wrong.code == 1 && wrong.err.contains("position 4: logits relative error") &&
                 wrong.err.contains("differs from the reference") &&
                 wrong.err.contains("in 1 place"),
             qPrintable(describe(wrong)));
  }

  // check without --golden: the backend against the CPU backend. CPU against CPU, on the
  // fixture and on random weights of another family's shape, differs nowhere.
  void check_backend_against_cpu_data() {
    QTest::addColumn<QStringList>("model");
    QTest::addColumn<QString>("name");
    QTest::addColumn<int>("decisions");  // (prompt + decoded tokens) x MoE layers
    QTest::newRow("checkpoint") << QStringList{"--model", q(model_dir)} << "dense-lead-f32"
                                << (12 + 3) * 2;
    QTest::newRow("random weights")
        << QStringList{"--random-weights", "--config",
                       q(model_dir.parent_path() / "qwen2moe-f32/config.json")}
        << "qwen2moe-f32 (random BF16 weights, seed 0)" << (12 + 3) * 2;
  }
  void check_backend_against_cpu() {
    QFETCH(QStringList, model);
    QFETCH(QString, name);
    QFETCH(int, decisions);
    const Run r = run_cli(
        QStringList{"check", "--backend", "cpu", "--prompt-tokens", "12", "--gen-tokens", "3"} +
        model);
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.startsWith(name + ": CPU"), qPrintable(r.out));
    QVERIFY2(r.out.contains("12 prompt tokens in one batch + 3 decoded"), qPrintable(r.out));
    QVERIFY2(r.out.contains("max |d| / max |logit| 0.00e+00, norm ratio 0.00e+00"),
             qPrintable(r.out));
    QVERIFY2(r.out.contains("by layer:\n    0: 0.00e+00 1: 0.00e+00 2: 0.00e+00\n"),
             qPrintable(r.out));
    QVERIFY2(r.out.contains(QString("routing: %1 MoE-layer decisions, 0 near-ties, 0 mismatches; "
                                    "gate weights max |d| 0.00e+00")
                                .arg(decisions)),
             qPrintable(r.out));
    QVERIFY2(r.out.contains("  OK: "), qPrintable(r.out));
  }

  // bench on random weights: the same bytes per decoded token as the checkpoint of that
  // shape, counted by hand for dense-lead-f32 (f32, hidden 64, vocab 512, layer 0 dense
  // 96 wide, layers 1-2 top-4 of 16 experts 32 wide + 2 shared): embedding row 256 +
  // LM head 131072 + final norm 256 + 3 x (norms 512 + attention 65536) + dense 73728 +
  // 2 x (router 4096 + shared 49152 + 4 experts 98304) = 706560.
  void bench_random_weights() {
    const QStringList shape{"--prompt-tokens", "6", "--gen-tokens", "3", "--repeats", "2"};
    const Run random =
        run_cli(QStringList{"bench", "--backend", "cpu", "--random-weights", "--config",
                            q(model_dir / "config.json"), "--dtype", "f32", "--bandwidth", "12.5"} +
                shape);
    QVERIFY2(random.code == 0, qPrintable(describe(random)));
    QVERIFY2(random.out.startsWith("model dense-lead-f32 (random F32 weights, seed 0) on CPU"),
             qPrintable(random.out));
    QVERIFY2(random.out.contains("6 prompt tokens in one batch + 3 generated, median of 2 runs"),
             qPrintable(random.out));
    QVERIFY2(random.out.contains(QRegularExpression("\nprefill: +[0-9.]+ tokens/s")),
             qPrintable(random.out));
    QVERIFY2(random.out.contains(QRegularExpression("\ndecode: +[0-9.]+ tokens/s")),
             qPrintable(random.out));
    QVERIFY2(random.out.contains("690.00 KiB of F32 (706560 bytes)"), qPrintable(random.out));
    QVERIFY2(random.out.contains(QRegularExpression("\nbandwidth fraction: [0-9.]+ of 12.5 GB/s")),
             qPrintable(random.out));
    const Run stored =
        run_cli(QStringList{"bench", "--backend", "cpu", "--model", q(model_dir)} + shape);
    QVERIFY2(stored.code == 0 && stored.out.contains("(706560 bytes)"),
             qPrintable(describe(stored)));
    QVERIFY2(!stored.out.contains("bandwidth fraction"), qPrintable(stored.out));  // not known

    const Run f16 =
        run_cli(QStringList{"bench", "--backend", "cpu", "--random-weights", "--config",
                            q(model_dir / "config.json"), "--dtype", "f16", "--seed", "3"} +
                shape);
    QVERIFY2(f16.code == 0 && f16.out.contains("(random F16 weights, seed 3) on CPU"),
             qPrintable(describe(f16)));
    const Run without = run_cli({"bench", "--config", q(model_dir / "config.json")});
    QVERIFY2(without.code != 0 && without.err.contains("--random-weights"),
             qPrintable(describe(without)));
    const Run nan = run_cli({"bench", "--model", q(model_dir), "--bandwidth", "nan"});
    QVERIFY2(nan.code != 0 && nan.err.contains("nan is not in (0, 1e7] GB/s"),
             qPrintable(describe(nan)));
    const Run huge = run_cli({"bench", "--model", q(model_dir), "--prompt-tokens", "2147483647"});
    QVERIFY2(huge.code != 0 && huge.err.contains("2147483647 is not in [1, 4194304]"),
             qPrintable(describe(huge)));
    const Run golden = run_cli({"check", "--random-weights", "--golden", q(model_dir)});
    QVERIFY2(golden.code != 0 && golden.err.contains("excludes"), qPrintable(describe(golden)));
  }

  void experiment_with_exports() {
    QTemporaryDir out;
    QVERIFY(out.isValid());
    const fs::path dir = out.path().toStdString();
    std::ofstream(dir / "prose.txt")
        << "The router sends each token to a few experts, and the experts learn a lot.";
    const Run r = run_cli({"experiment", "locality", "--model", q(model_dir), "--backend", "cpu",
                           "--texts", q(dir / "prose.txt"), "--tokens-per-text", "16", "--window",
                           "8", "--json", q(dir / "r.json"), "--csv", q(dir / "r.csv")});
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.contains("Routing locality (Mixtral, Table 5)"), qPrintable(r.out));
    QVERIFY2(r.out.contains("dense-lead-f32 · layer 2: same first choice"), qPrintable(r.out));
    const nlohmann::json result = nlohmann::json::parse(std::ifstream(dir / "r.json"));
    QCOMPARE(result["experiment"].get<std::string>(), std::string("locality"));
    QCOMPARE(result["table"]["rows"].size(), std::size_t(2));  // MoE layers 1 and 2
    std::ifstream csv(dir / "r.csv");
    std::string header;
    std::getline(csv, header);
    QVERIFY2(header.rfind("model,layer,pairs,same_first", 0) == 0, header.c_str());

    const Run list = run_cli({"experiment", "list"});
    QVERIFY2(list.code == 0 && list.out.contains("redundancy") && list.out.contains("vocabulary"),
             qPrintable(describe(list)));
    const Run dense =
        run_cli({"experiment", "coactivation", "--model", q(model_dir), "--backend", "cpu",
                 "--texts", q(dir / "prose.txt"), "--layer", "0", "--tokens-per-text", "16"});
    QVERIFY2(dense.code == 1 && dense.err.contains("--layer 0: not an MoE layer of dense-lead-f32"),
             qPrintable(describe(dense)));
  }

  // DeepSeek-V3's gate switches on the bundled deepseekv3-tiny: with the bias, each layer's
  // top-k are the best selection scores (score + bias), which the snapshot keeps; with
  // --select-without-bias the best raw scores, no selection scores, and the switch recorded.
  void v3_gate_switches() {
    const fs::path v3 = fs::path(MOESCOPE_RESOURCES_DIR) / "models" / "deepseekv3-tiny";
    QTemporaryDir out;
    QVERIFY(out.isValid());
    const auto generate = [&](const QString& name, const QStringList& flags) {
      const fs::path json = fs::path(out.path().toStdString()) / name.toStdString();
      const Run r =
          run_cli(QStringList{"generate", "--model", q(v3), "--backend", "cpu", "--prompt",
                              "In the beginning God created", "--max-tokens", "8", "--temperature",
                              "0", "--no-summary", "--json", q(json)} +
                  flags);
      if (r.code != 0) qWarning("%s", qPrintable(describe(r)));
      return read_snapshot(json);
    };
    // Ids in rank order must be the k best of `ranked` (ties broken by the lower id).
    const auto ranks_best = [](const LayerRouting& l, const std::vector<float>& ranked) {
      std::vector<int> order(ranked.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return ranked[a] > ranked[b]; });
      order.resize(l.expert_ids.size());
      return order == l.expert_ids;
    };
    const RoutingSnapshot biased = generate("biased.json", {});
    const RoutingSnapshot raw = generate("raw.json", {"--select-without-bias"});
    QVERIFY(!biased.interventions.select_without_bias);
    QVERIFY(raw.interventions.select_without_bias);
    QCOMPARE(biased.tokens.size(), raw.tokens.size());
    int differing = 0;
    for (std::size_t t = 0; t < biased.tokens.size(); ++t)
      for (std::size_t l = 0; l < biased.tokens[t].routing.layers.size(); ++l) {
        const LayerRouting& b = biased.tokens[t].routing.layers[l];
        const LayerRouting& r = raw.tokens[t].routing.layers[l];
        QCOMPARE(int(b.selection_scores.size()), 64);
        QVERIFY(ranks_best(b, b.selection_scores));
        QVERIFY(r.selection_scores.empty());
        QVERIFY(ranks_best(r, r.scores));
        if (t < 6) differing += b.expert_ids != r.expert_ids;  // the same prompt tokens
      }
    QVERIFY2(differing > 0, "the bias changed no choice of the prompt's tokens");

    // Switches the gate does not have are refused by name.
    const Run groups =
        run_cli({"generate", "--model", q(v3), "--prompt", "Hi", "--no-group-limit"});
    QCOMPARE(groups.code, 1);
    QVERIFY2(groups.err.contains("--no-group-limit: this model does not route by groups"),
             qPrintable(groups.err));
    const Run bias =
        run_cli({"generate", "--model", q(model_dir), "--prompt", "Hi", "--select-without-bias"});
    QCOMPARE(bias.code, 1);
    QVERIFY2(bias.err.contains("--select-without-bias: this model's gate has no"),
             qPrintable(bias.err));
  }

  // A loss-based experiment on a served model is refused before any request: nothing
  // listens on the port, and the message is the refusal, not an unreachable server.
  void loss_experiment_on_a_server_refused_before_connecting() {
    const Run r = run_cli({"experiment", "redundancy", "--server", "http://127.0.0.1:9",
                           "--served-model", "tiny", "--config", q(model_dir / "config.json")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("which needs the local engine"), qPrintable(describe(r)));
    const Run help = run_cli({"experiment", "--help"});
    QVERIFY2(help.out.contains("Run a routing analysis on a vLLM or SGLang server"),
             qPrintable(help.out));
  }

  // Each mistake: exit code 1 (not a signal, not an unexpected error), and
  // exactly one "moescope-cli: error:" line, the last on stderr, naming the problem.
  void errors_data() {
    QTest::addColumn<QStringList>("args");  // after "generate --prompt hi --max-tokens 2"
    QTest::addColumn<QString>("model");  // "" = the fixture; "%bad_type", "%truncated", or a path
    QTest::addColumn<QStringList>("says");
    QTest::newRow("missing model directory")
        << QStringList{} << "/nonexistent-moescope-model"
        << QStringList{"/nonexistent-moescope-model", "not a model directory"};
    QTest::newRow("model path with a name too long (std::filesystem threw, unexpected error)")
        << QStringList{} << "/nonexistent-" + QString(300, 'a')
        << QStringList{"/nonexistent-aaa", "File name too long"};
    QTest::newRow("unsupported model_type")
        << QStringList{} << "%bad_type" << QStringList{"config.json", "model_type", "llama"};
    QTest::newRow("truncated safetensors")
        << QStringList{} << "%truncated" << QStringList{"truncated/model.safetensors"};
    QTest::newRow("unknown expert id") << QStringList{"--disable", "1:99"} << ""
                                       << QStringList{"--disable 1:99", "expert 99 out of range"};
    QTest::newRow("expert in the dense layer")
        << QStringList{"--disable", "0:3"} << "" << QStringList{"--disable 0:3", "dense layer"};
    QTest::newRow("shared experts of a missing layer")
        << QStringList{"--disable-shared", "7"} << ""
        << QStringList{"--disable-shared 7", "layer 7 out of range"};
    QTest::newRow("malformed --disable") << QStringList{"--disable", "1-3"} << ""
                                         << QStringList{"--disable \"1-3\"", "LAYER:EXPERT"};
    QTest::newRow("too many active experts")
        << QStringList{"--top-k-experts", "17"} << ""
        << QStringList{"--top-k-experts 17", "16 routed experts"};
    QTest::newRow("--chat without a chat template")
        << QStringList{"--chat"} << ""
        << QStringList{"tokenizer_config.json", "has no chat_template"};
    QTest::newRow("snapshot in a missing directory")
        << QStringList{"--json", "/nonexistent-dir/x.json"} << ""
        << QStringList{"/nonexistent-dir/x.json"};
  }
  void errors() {
    QFETCH(QStringList, args);
    QFETCH(QString, model);
    QFETCH(QStringList, says);
    if (model.isEmpty()) model = q(model_dir);
    if (model == "%bad_type") model = q(bad_type_);
    if (model == "%truncated") model = q(truncated_);
    const Run r = run_cli(QStringList{"generate", "--model", model, "--backend", "cpu", "--prompt",
                                      "hi", "--max-tokens", "2"} +
                          args);
    QVERIFY2(r.status == QProcess::NormalExit, qPrintable(describe(r)));
    QVERIFY2(r.code == 1, qPrintable(describe(r)));
    const QStringList lines = r.err.split('\n', Qt::SkipEmptyParts);
    const auto errors = std::count_if(lines.begin(), lines.end(), [](const QString& l) {
      return l.startsWith("moescope-cli: error:");
    });
    QVERIFY2(errors == 1, qPrintable(describe(r)));
    const QString error = lines.last();
    QVERIFY2(error.startsWith("moescope-cli: error:"), qPrintable(describe(r)));
    for (const QString& part : says)
      QVERIFY2(error.contains(part),
               qPrintable(QStringLiteral("'%1' not in '%2'").arg(part, error)));
  }
  // quantize: a GGUF file that info reads as Q4_0 weights; never over its input (a copy
  // of the bundled model, so that a broken refusal could harm nothing committed).
  void quantize() {
    const fs::path tiny = fs::path(MOESCOPE_RESOURCES_DIR) / "models" / "deepseekmoe-tiny";
    const QString out = tmp_.filePath("tiny.q4_0.gguf");
    const Run r = run_cli({"quantize", "--model", q(tiny), "--type", "Q4_0", "--out", out});
    QVERIFY2(r.status == QProcess::NormalExit && r.code == 0, qPrintable(describe(r)));
    QVERIFY2(r.out.contains("Q4_0") && QFileInfo(out).size() > 0, qPrintable(describe(r)));
    const Run info = run_cli({"info", "--model", out});
    QVERIFY2(info.code == 0 && info.out.contains("weights dtype:  Q4_0"),
             qPrintable(describe(info)));

    const fs::path copy = fs::path(tmp_.path().toStdString()) / "tiny-copy";
    fs::create_directory(copy);
    for (const char* file : {"config.json", "model.safetensors", "tokenizer.model"})
      fs::copy_file(tiny / file, copy / file);
    const auto size = fs::file_size(copy / "model.safetensors");
    const Run refused = run_cli(
        {"quantize", "--model", q(copy), "--type", "Q8_0", "--out", q(copy / "model.safetensors")});
    QVERIFY2(refused.code == 1 && refused.err.contains("refusing to overwrite it"),
             qPrintable(describe(refused)));
    QCOMPARE(fs::file_size(copy / "model.safetensors"), size);
    const Run bad_type = run_cli({"quantize", "--model", q(copy), "--type", "Q5_K", "--out", out});
    QVERIFY2(bad_type.code != 0 && bad_type.err.contains("Q5_K"), qPrintable(describe(bad_type)));
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
