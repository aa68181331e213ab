// The whole model on the CUDA backend against the CPU backend: every fixture and
// both bundled models, plain and with every kind of intervention, a prompt as one
// batch (long enough for the per-expert GEMM path) then decode steps through the
// captured graph; fixtures of families the kernels do not run are refused instead.
// Then the backend factory's choice and its self-check. Skips without a GPU.
#include <QTest>

#include "backends/backend_compare.h"
#include "backends/backend_factory.h"
#include "backends/backend_self_check.h"
#include "cpu/cpu_backend.h"
#include "cuda_plan/family_support.h"
#include "kernels/cuda_backend.h"
#include "kernels/gpu_suite.h"
#include "model/default_model.h"
#include "model/model.h"
#include "support/expect_error.h"

using namespace moescope;

namespace {

std::vector<std::filesystem::path> every_fixture() {
  std::vector<std::filesystem::path> dirs;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models"))
    if (std::filesystem::exists(entry.path() / "config.json")) dirs.push_back(entry.path());
  return dirs;
}

bool cuda_runs(const std::filesystem::path& dir) {
  return cuda_plan::runs_family(load_model_config(dir).family);
}

// The bundled models and every fixture the kernels run.
std::vector<std::filesystem::path> every_model() {
  std::vector<std::filesystem::path> dirs = bundled_model_pair();
  for (const auto& dir : every_fixture())
    if (cuda_runs(dir)) dirs.push_back(dir);
  return dirs;
}

Interventions intervention(const ModelConfig& c, int kind) {
  Interventions iv;
  const std::vector<int> moe = c.moe_layers();
  switch (kind) {
    case 1:  // experts off in one layer and in all layers
      iv.disabled_experts = {{moe.front(), 1}, {Interventions::all_layers, 0}};
      break;
    case 2:
      iv.top_k = std::min(c.n_routed_experts, c.num_experts_per_tok + 2);
      break;
    case 3:
      iv.top_k = 1;
      break;
    case 4:
      iv.disable_top_scoring = 1;
      break;
    case 5:
      if (c.n_shared_experts > 0) iv.disabled_shared = {moe.back()};
      break;
  }
  return iv;
}

const char* kind_name(int kind) {
  static const char* names[] = {"plain", "disabled experts",  "top-k up",
                                "top-1", "best out of reach", "shared off"};
  return names[kind];
}

}  // namespace

class TestCudaBackend : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { MOESCOPE_SKIP_WITHOUT_GPU(); }

  void agrees_with_the_cpu_data() {
    QTest::addColumn<QString>("dir");
    QTest::addColumn<int>("kind");
    for (const auto& dir : every_model())
      for (int kind = 0; kind < 6; ++kind)
        QTest::addRow("%s %s", dir.filename().string().c_str(), kind_name(kind))
            << QString::fromStdString(dir.string()) << kind;
  }
  void agrees_with_the_cpu() {
    QFETCH(QString, dir);
    QFETCH(int, kind);
    const auto model = Model::load(dir.toStdString());
    const Interventions iv = intervention(model->config(), kind);
    iv.validate(model->config());
    CudaBackend cuda(*model);
    CpuBackend cpu(*model);
    // 40 prompt tokens: more (token, expert) slots than experts, so prefill groups by expert.
    std::vector<int> prompt;
    for (int i = 0; i < 40; ++i) prompt.push_back((i * 37 + 11) % model->config().vocab_size);
    const BackendComparison c = compare_backends(cuda, cpu, model->config(), prompt, 6, iv);
    QVERIFY2(c.passed(), c.summary().c_str());
    qInfo("%s", c.summary().c_str());
  }

  void rewinds_like_the_cpu() {
    const auto model = Model::load(bundled_model_pair().front());
    CudaBackend cuda(*model);
    CpuBackend cpu(*model);
    const std::vector<int> ids{1, 5, 9, 14, 3};
    for (Backend* b : {static_cast<Backend*>(&cuda), static_cast<Backend*>(&cpu)})
      b->forward_batch(ids, 0, {}, {}, LogitsWanted::last);
    // Keep positions 0-2, run a different token at 3.
    const auto a = cuda.forward(42, 3, {}, nullptr);
    const std::vector<float> got(a.begin(), a.end());
    const auto b = cpu.forward(42, 3, {}, nullptr);
    ErrorStats e;
    e.add(got, b);
    QVERIFY(e.relative() < 1e-3);
  }

  void factory_picks_cuda_after_the_self_check() {
    const auto model = Model::load(bundled_model_pair().front());
    const BackendSelection s = make_backend(*model, BackendChoice::automatic);
    QVERIFY2(s.backend->name().rfind("CUDA", 0) == 0, s.reason.c_str());
    QVERIFY(self_check([](const Model& m) { return std::make_unique<CudaBackend>(m); }).empty());
  }

  // A family the kernels do not run: refused at construction, and `auto` runs it on the CPU.
  void other_families_fall_back_to_the_cpu() {
    int refused = 0;
    for (const auto& dir : every_fixture()) {
      if (cuda_runs(dir)) continue;
      const auto model = Model::load(dir);
      const std::string error = engine_error_of([&] { CudaBackend cuda(*model); });
      QVERIFY2(error.find("the CUDA backend does not run") != std::string::npos, error.c_str());
      const BackendSelection s = make_backend(*model, BackendChoice::automatic);
      QVERIFY2(s.backend->name().rfind("CPU", 0) == 0, s.reason.c_str());
      QVERIFY2(s.reason.find(error) != std::string::npos, s.reason.c_str());
      ++refused;
    }
    QVERIFY(refused > 0);
  }
};

MOESCOPE_GPU_TEST_MAIN(TestCudaBackend)
#include "test_cuda_backend.moc"
