#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/text_file.h"
#include "model/config.h"
#include "model/model_info.h"

namespace moescope::cli {
namespace {

// "1-27" for a contiguous run, "1, 3, 5" otherwise.
std::string layer_list(const ModelConfig& c, bool moe) {
  std::vector<int> layers;
  for (int i = 0; i < c.num_hidden_layers; ++i)
    if (c.is_moe_layer(i) == moe) layers.push_back(i);
  if (layers.empty()) return "none";
  if (layers.back() - layers.front() + 1 == int(layers.size()))
    return layers.size() == 1
               ? std::to_string(layers[0])
               : std::to_string(layers.front()) + "-" + std::to_string(layers.back());
  std::string out;
  for (int l : layers) out += (out.empty() ? "" : ", ") + std::to_string(l);
  return out;
}

struct InfoOptions {
  ModelOptions model;
  std::string config_file;  // a config.json alone: facts without weights
};

// What the weights are, as loaded or (config only) as the config says they would be.
struct WeightFacts {
  std::string name, where, dtype, memory_note;
  std::int64_t bytes = 0;
};

std::string format_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// DeepSeek-V2/V3's gate: its groups, its selection bias, its scale.
std::string gate_extras(const ModelConfig& c) {
  std::string out;
  if (c.topk_method != TopkMethod::greedy && c.n_group > 1)
    out += ", " + std::to_string(c.n_group) + " groups, " + std::to_string(c.topk_group) +
           " kept (" +
           (c.topk_method == TopkMethod::noaux_tc ? "by their two best)" : "by their best)");
  if (c.score_correction_bias) out += ", selection bias";
  if (c.routed_scaling_factor != 1.0f) out += ", scaled x" + format_number(c.routed_scaling_factor);
  return out;
}

void print_info(const ModelConfig& c, const WeightFacts& w) {
  const ParameterCounts p = count_parameters(c);
  std::cout << "model:          " << w.name << "  (" << w.where << ")\n"
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
              << " wide), top-" << c.num_experts_per_tok << ", " << c.n_shared_experts << " shared"
              << (c.n_shared_experts > 0
                      ? " (" + std::to_string(c.shared_expert_intermediate_size) + " wide" +
                            (c.shared_expert_gated ? ", sigmoid-gated)" : ")")
                      : "")
              << "; gate " << c.scoring_func
              << (c.norm_topk_prob ? ", top-k weights normalised" : ", raw top-k weights")
              << gate_extras(c) << "\n";
  if (c.mla)
    std::cout << "attention:      multi-head latent: per token a " << c.mla->kv_lora_rank
              << "-wide latent and one " << c.mla->qk_rope_head_dim << "-wide RoPE key ("
              << c.mla->qk_nope_head_dim << " + " << c.mla->qk_rope_head_dim << " q/k, "
              << c.mla->v_head_dim << " v per head; q "
              << (c.mla->q_lora_rank > 0 ? "low-rank " + std::to_string(c.mla->q_lora_rank)
                                         : std::string("direct"))
              << "), RoPE " << (c.mla->rope_interleave ? "interleaved" : "rotate-half")
              << (c.rope_yarn ? ", YaRN x" + format_number(c.rope_yarn->factor) : "") << "\n";
  std::cout << "parameters:     " << format_count(p.total) << " total, "
            << format_count(p.active_per_token) << " active per token ("
            << format_count(p.active_per_token - p.embedding) << " without the embedding table; "
            << format_count(p.routed_experts) << " in routed experts)\n"
            << "weights dtype:  " << w.dtype << "\n"
            << "memory:         " << format_bytes(w.bytes) << " of weights (" << w.memory_note
            << "), KV cache " << format_bytes(kv_cache_bytes_per_token(c)) << " per token ("
            << format_bytes(kv_cache_bytes_per_token(c) * c.max_position_embeddings)
            << " at full context)\n";
  if (!c.unrecognised_keys.empty()) {
    std::cout << "not understood:";
    for (const std::string& key : c.unrecognised_keys) std::cout << " " << key;
    std::cout << "  (config.json keys in no table of docs/FAMILIES.md; loaded as if absent)\n";
  }
}

void run_info(const InfoOptions& o) {
  if (!o.config_file.empty()) {
    const std::filesystem::path file = o.config_file;
    const ModelConfig c = parse_model_config(read_text_file(file), o.config_file);
    const std::size_t dtype_bytes = c.torch_dtype == "float32" ? 4 : 2;
    print_info(c,
               {file.stem().string(), file.string() + ", config only",
                c.torch_dtype.empty() ? "not stated (bf16 assumed)"
                                      : c.torch_dtype + " (from config.json)",
                "if stored in that dtype", count_parameters(c).total * std::int64_t(dtype_bytes)});
    return;
  }
  const auto model = load_model(o.model);
  print_info(model->config(), {model->name(), model->dir().string(), model->weight_dtype(),
                               "memory-mapped", std::int64_t(model->mapped_bytes())});
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* command = app.add_subcommand("info", "Architecture, parameter counts and memory");
  add_model_options(*command, options->model);
  command->add_option(
      "--config", options->config_file,
      "A config.json alone (e.g. resources/configs/deepseek-moe-16b-base.json): the "
      "facts without the weights");
  command->callback([options] { run_info(*options); });
}

}  // namespace moescope::cli
