#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "cli_common.h"
#include "commands.h"
#include "model_info.h"

namespace moescope::cli {
namespace {

// "1-27" for a contiguous run, "1, 3, 5" otherwise.
std::string layer_list(const ModelConfig& c, bool moe) {
  std::vector<int> layers;
  for (int i = 0; i < c.num_hidden_layers; ++i)
    if (c.is_moe_layer(i) == moe) layers.push_back(i);
  if (layers.empty()) return "none";
  if (layers.back() - layers.front() + 1 == int(layers.size()))
    return layers.size() == 1 ? std::to_string(layers[0])
                              : std::to_string(layers.front()) + "-" + std::to_string(layers.back());
  std::string out;
  for (int l : layers) out += (out.empty() ? "" : ", ") + std::to_string(l);
  return out;
}

void print_info(const ModelOptions& options) {
  const auto model = load_model(options);
  const ModelConfig& c = model->config();
  const ParameterCounts p = count_parameters(c);
  std::cout << "model:          " << model->name() << "  (" << model->dir().string() << ")\n"
            << "architecture:   " << c.architecture << " (model_type " << c.model_type << ")\n"
            << "layers:         " << c.num_hidden_layers << "  (dense: " << layer_list(c, false)
            << "; MoE: " << layer_list(c, true) << ")\n"
            << "hidden:         " << c.hidden_size << ", " << c.num_attention_heads << " heads x "
            << c.head_dim << " (" << c.num_key_value_heads << " KV heads)\n"
            << "vocabulary:     " << c.vocab_size << "\n"
            << "context:        " << c.max_position_embeddings << " positions, RoPE theta "
            << c.rope_theta << "\n";
  if (c.n_routed_experts > 0)
    std::cout << "experts:        " << c.n_routed_experts << " routed (" << c.moe_intermediate_size
              << " wide), top-" << c.num_experts_per_tok << ", " << c.n_shared_experts
              << " shared"
              << (c.n_shared_experts > 0 ? " (" + std::to_string(c.shared_expert_intermediate_size) +
                                               " wide" + (c.shared_expert_gated ? ", sigmoid-gated)" : ")")
                                         : "")
              << "; gate " << c.scoring_func
              << (c.norm_topk_prob ? ", top-k weights normalised" : ", raw top-k weights") << "\n";
  std::cout << "parameters:     " << format_count(p.total) << " total, "
            << format_count(p.active_per_token) << " active per token ("
            << format_count(p.routed_experts) << " in routed experts)\n"
            << "weights dtype:  " << model->weight_dtype() << "\n"
            << "memory:         " << format_bytes(std::int64_t(model->mapped_bytes()))
            << " of weights (memory-mapped), KV cache "
            << format_bytes(kv_cache_bytes_per_token(c)) << " per token ("
            << format_bytes(kv_cache_bytes_per_token(c) * c.max_position_embeddings)
            << " at full context)\n";
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto options = std::make_shared<ModelOptions>();
  CLI::App* command = app.add_subcommand("info", "Architecture, parameter counts and memory");
  add_model_options(*command, *options);
  command->callback([options] { print_info(*options); });
}

}  // namespace moescope::cli
