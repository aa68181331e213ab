// Model::load binds each family's tensors by their Hugging Face names and checks
// them against config.json: a checkpoint of one family described as another, a
// width that disagrees with the file, or both expert layouts at once are refused with a
// message naming the tensor.
#include <QTemporaryDir>
#include <QTest>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model.h"
#include "support/expect_error.h"

using namespace moescope;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const QString& name) {
  return fs::path(MOESCOPE_FIXTURES_DIR "/models") / name.toStdString();
}

// A copy of a fixture model with `patch` merged into its config.json.
fs::path patched_copy(const QTemporaryDir& tmp, const QString& model, const QByteArray& patch) {
  const fs::path dir = fs::path(tmp.path().toStdString()) / model.toStdString();
  fs::copy(fixture(model), dir);
  json config = json::parse(std::ifstream(dir / "config.json"));
  config.merge_patch(json::parse(patch.toStdString()));
  std::ofstream(dir / "config.json") << config.dump(2);
  return dir;
}

// A one-tensor safetensors file: `name`, F32, shape [1].
void write_one_tensor(const fs::path& path, const std::string& name) {
  const std::string header =
      json{{name, {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0, 4}}}}}.dump();
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t size = header.size();
  out.write(reinterpret_cast<const char*>(&size), 8);
  out << header;
  out.write("\0\0\0\0", 4);
}

}  // namespace

class TestModel : public QObject {
  Q_OBJECT

 private slots:
  void loads_every_family_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<int>("family");
    QTest::newRow("mixtral") << "mixtral-bf16-sharded" << int(Family::mixtral);
    QTest::newRow("qwen2_moe") << "qwen2moe-f32" << int(Family::qwen2_moe);
    QTest::newRow("olmoe") << "olmoe-f16" << int(Family::olmoe);
  }
  void loads_every_family() {
    QFETCH(QString, model);
    QFETCH(int, family);
    const auto m = Model::load(fixture(model));
    QCOMPARE(int(m->config().family), family);
    for (const LayerWeights& l : m->weights().layers) {
      QCOMPARE(l.bq.empty(), family != int(Family::qwen2_moe));
      QCOMPARE(l.q_norm.empty(), family != int(Family::olmoe));
      if (!l.is_moe) continue;
      QCOMPARE(l.shared.has_value(), family == int(Family::qwen2_moe));
      QCOMPARE(l.shared_gate.has_value(), family == int(Family::qwen2_moe));
    }
  }

  // A checkpoint described as another family (its own keys removed, or the config check
  // would refuse them first) is refused at the first tensor that family does not have.
  void refuses_mismatches_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QByteArray>("patch");
    QTest::addColumn<QString>("expected");
    QTest::newRow("mixtral read as olmoe")
        << "mixtral-bf16-sharded"
        << QByteArray(R"({"model_type": "olmoe", "num_experts": 8, "num_local_experts": null})")
        << "tensor 'model.layers.0.self_attn.q_norm.weight' is missing (config.json expects "
           "shape [64])";
    QTest::newRow("mixtral read as qwen2_moe")
        << "mixtral-bf16-sharded"
        << QByteArray(R"({"model_type": "qwen2_moe", "num_experts": 8, "num_local_experts": null,
                         "moe_intermediate_size": 48, "shared_expert_intermediate_size": 16})")
        << "tensor 'model.layers.0.self_attn.q_proj.bias' is missing";
    QTest::newRow("olmoe read as mixtral")
        << "olmoe-f16" << QByteArray(R"({"model_type": "mixtral", "num_local_experts": 16,
                                       "num_experts": null, "norm_topk_prob": null,
                                       "clip_qkv": null})")
        << "tensor 'model.layers.0.block_sparse_moe.gate.weight' is missing";
    QTest::newRow("mixtral expert width")
        << "mixtral-bf16-sharded" << QByteArray(R"({"intermediate_size": 40})")
        << "tensor 'model.layers.0.block_sparse_moe.experts.0.w1.weight' has shape [48, 64], "
           "config.json expects [40, 64]";
    QTest::newRow("qwen2_moe shared width")
        << "qwen2moe-f32" << QByteArray(R"({"shared_expert_intermediate_size": 32})")
        << "tensor 'model.layers.0.mlp.shared_expert.gate_proj.weight' has shape [64, 64], "
           "config.json expects [32, 64]";
    QTest::newRow("qwen2_moe layer 1 is dense in the file")
        << "qwen2moe-f32" << QByteArray(R"({"mlp_only_layers": []})")
        << "tensor 'model.layers.1.mlp.gate.weight' is missing";
  }
  void refuses_mismatches() {
    QFETCH(QString, model);
    QFETCH(QByteArray, patch);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    const fs::path dir = patched_copy(tmp, model, patch);
    QVERIFY_CONTAINS(engine_error_of([&] { Model::load(dir); }), expected);
  }

  // A file where the folder should be, or nothing at all, is said plainly.
  void refuses_a_file_or_nothing_as_the_model() {
    const fs::path config = fixture("olmoe-f16") / "config.json";
    QVERIFY_CONTAINS(engine_error_of([&] { Model::load(config); }),
                     QString::fromStdString(config.string() + ": a file, not a model directory"));
    QVERIFY_CONTAINS(engine_error_of([&] { Model::load(fixture("nowhere")); }),
                     "nowhere: not a model directory (it does not exist)");
  }

  // transformers 5 holds experts fused (experts.gate_up_proj, experts.down_proj); a file with
  // both layouts is ambiguous and refused. (The fused layout itself is proven by the goldens
  // of tests/fixtures/models/*-t5-fused.)
  void refuses_both_expert_layouts_at_once() {
    QTemporaryDir tmp;
    const fs::path both = patched_copy(tmp, "olmoe-f16", "{}");
    write_one_tensor(both / "fused.safetensors", "model.layers.0.mlp.experts.gate_up_proj");
    QVERIFY_CONTAINS(engine_error_of([&] { Model::load(both); }),
                     "both fused ('model.layers.0.mlp.experts.gate_up_proj') and per-expert");
  }
};

QTEST_GUILESS_MAIN(TestModel)
#include "test_model.moc"
