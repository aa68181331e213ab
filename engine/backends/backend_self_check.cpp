#include "backends/backend_self_check.h"

#include <filesystem>
#include <vector>

#include "backends/backend_compare.h"
#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "model/default_model.h"

namespace moescope {
namespace {

struct Case {
  std::string what;
  Interventions interventions;
};

// Every kind of intervention the gate honours, where the model allows it.
std::vector<Case> cases(const ModelConfig& c) {
  std::vector<Case> out{{"no interventions", {}}};
  Interventions masked;
  masked.disabled_experts.insert({Interventions::all_layers, 0});
  masked.disabled_experts.insert({c.moe_layers().back(), 1});
  masked.top_k = std::min(c.num_experts_per_tok + 1, c.n_routed_experts - 2);
  if (c.n_shared_experts > 0) masked.disabled_shared.insert(c.moe_layers().front());
  out.push_back({"experts 0 (all layers) and 1 (last MoE layer) off, top-k " +
                     std::to_string(*masked.top_k) + ", shared off in one layer",
                 masked});
  Interventions top;
  top.disable_top_scoring = 1;
  top.top_k = 1;
  out.push_back({"the best expert out of reach, top-1", top});
  return out;
}

std::string check_model(const BackendMaker& make, const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "config.json"))
    return "the self-check's model " + dir.string() + " is missing";
  const std::unique_ptr<Model> model = Model::load(dir);
  const std::unique_ptr<Backend> candidate = make(*model);
  CpuBackend reference(*model);
  // Positions 0-15 as one batch, 16-19 decoded one by one: 16 tokens give more
  // (token, expert) slots than the bundled models have experts, so prefill's grouped
  // products run, not only the matrix-vector kernels of decode.
  const std::vector<int> prompt{1, 17, 42, 7, 99, 3, 250, 61, 8, 130, 77, 5, 19, 204, 33, 90};
  for (Case& c : cases(model->config())) {
    c.interventions.validate(model->config());
    const BackendComparison result =
        compare_backends(*candidate, reference, model->config(), prompt, 4, c.interventions);
    if (!result.passed())
      return candidate->name() + " differs from the CPU on " + model->name() + " (" + c.what +
             "): " + result.summary();
  }
  return {};
}

}  // namespace

std::string self_check(const BackendMaker& make) {
  const std::vector<std::filesystem::path> models{
      bundled_model_pair().front(),
      std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / "normtopk-bf16-sharded"};
  try {
    for (const auto& dir : models)
      if (std::string problem = check_model(make, dir); !problem.empty()) return problem;
  } catch (const EngineError& e) {
    return std::string("the self-check failed: ") + e.what();
  }
  return {};
}

}  // namespace moescope
