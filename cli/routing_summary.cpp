#include "cli/routing_summary.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "run/routing_stats.h"

namespace moescope::cli {
namespace {

constexpr int shown_experts = 5;

std::string format_row(const LayerLoad& load, int n_experts, int k, bool shared_active) {
  std::vector<int> order(n_experts);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return load.counts[a] > load.counts[b]; });
  const int distinct = int(std::count_if(load.counts.begin(), load.counts.end(), [](int c) { return c > 0; }));
  // A perfectly balanced router gives every expert tokens * k / n_experts.
  const double balanced = double(load.tokens) * k / n_experts;
  char row[256];
  std::snprintf(row, sizeof row, "%5d %7d %5d/%-4d %9.2f %7d  %-6s ", load.layer, load.tokens,
                distinct, n_experts, load.counts[order[0]] / balanced, load.mask_changed,
                shared_active ? "on" : "off");
  std::string text = row;
  for (int j = 0; j < shown_experts && j < n_experts && load.counts[order[j]] > 0; ++j) {
    std::snprintf(row, sizeof row, " e%-3d %3.0f%%", order[j], 100.0 * load.counts[order[j]] / load.tokens);
    text += row;
  }
  return text;
}

}  // namespace

void print_routing_summary(std::ostream& out, const ModelConfig& config,
                           const GenerationRequest& request, const GenerationResult& result) {
  if (config.n_routed_experts == 0 || !request.capture_routing) return;
  std::vector<TokenRouting> traces;
  for (const auto& token : result.tokens) traces.push_back(token.routing);
  const int k = request.interventions.top_k.value_or(config.num_experts_per_tok);

  out << "\nrouting summary: " << result.prompt_tokens << " prompt + " << result.generated_tokens
      << " generated tokens, top-" << k << " of " << config.n_routed_experts << " routed experts"
      << (config.n_shared_experts ? " + " + std::to_string(config.n_shared_experts) + " shared" : "")
      << "\n"
      << "layer  tokens  experts  max/even  masked  shared  most chosen (share of tokens)\n";
  for (const LayerLoad& load : expert_load(traces, config.n_routed_experts)) {
    const bool shared = config.n_shared_experts > 0 && !request.interventions.shared_disabled(load.layer);
    out << format_row(load, config.n_routed_experts, k, shared) << "\n";
  }
}

}  // namespace moescope::cli
