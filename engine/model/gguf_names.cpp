#include "model/gguf_names.h"

#include <charconv>
#include <utility>

namespace moescope {
namespace {

constexpr GgufArchitecture architectures[] = {
    {"deepseek", Family::deepseek, "deepseek", "DeepseekForCausalLM", true},
    {"llama", Family::mixtral, "mixtral", "MixtralForCausalLM", true},
    {"qwen2moe", Family::qwen2_moe, "qwen2_moe", "Qwen2MoeForCausalLM", false},
    {"olmoe", Family::olmoe, "olmoe", "OlmoeForCausalLM", false},
};

template <typename Matches>
const GgufArchitecture* find_architecture(Matches matches) {
  for (const GgufArchitecture& a : architectures)
    if (matches(a)) return &a;
  return nullptr;
}

}  // namespace

const GgufArchitecture* gguf_architecture_named(std::string_view name) {
  return find_architecture([&](const GgufArchitecture& a) { return name == a.name; });
}

const GgufArchitecture* gguf_architecture_of(Family family) {
  return find_architecture([&](const GgufArchitecture& a) { return family == a.family; });
}

std::optional<GgufName> gguf_name_of(const std::string& hf) {
  static const std::pair<const char*, const char*> top[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"}};
  for (const auto& [from, to] : top)
    if (hf == from) return GgufName{to};
  const std::string prefix = "model.layers.";
  if (!hf.starts_with(prefix)) return std::nullopt;
  const std::size_t dot = hf.find('.', prefix.size());
  if (dot == std::string::npos) return std::nullopt;
  const std::string layer = hf.substr(prefix.size(), dot - prefix.size());
  const std::string rest = hf.substr(dot + 1);
  const std::string blk = "blk." + layer + ".";
  static const std::pair<const char*, const char*> per_layer[] = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
      {"mlp.gate.weight", "ffn_gate_inp.weight"},
      {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"},
      {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"},
      {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"},
      // Qwen2-MoE: q/k/v biases, one shared expert and its sigmoid gate
      {"self_attn.q_proj.bias", "attn_q.bias"},
      {"self_attn.k_proj.bias", "attn_k.bias"},
      {"self_attn.v_proj.bias", "attn_v.bias"},
      {"mlp.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight"},
      {"mlp.shared_expert.up_proj.weight", "ffn_up_shexp.weight"},
      {"mlp.shared_expert.down_proj.weight", "ffn_down_shexp.weight"},
      {"mlp.shared_expert_gate.weight", "ffn_gate_inp_shexp.weight"},
      // OLMoE: RMSNorm over the q and k projections
      {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"},
      // Mixtral's router
      {"block_sparse_moe.gate.weight", "ffn_gate_inp.weight"}};
  for (const auto& [from, to] : per_layer)
    if (rest == from)
      return GgufName{blk + to, -1,
                      rest == "self_attn.q_proj.weight" || rest == "self_attn.k_proj.weight"};
  // Routed experts: mlp.experts.E.gate_proj, or Mixtral's block_sparse_moe.experts.E.w1
  // (gate), w3 (up), w2 (down).
  const bool mixtral = rest.starts_with("block_sparse_moe.experts.");
  const std::string experts = mixtral ? "block_sparse_moe.experts." : "mlp.experts.";
  if (!rest.starts_with(experts)) return std::nullopt;
  const std::size_t end = rest.find('.', experts.size());
  if (end == std::string::npos) return std::nullopt;
  int e = -1;  // the binder's own names: always a valid index
  std::from_chars(rest.data() + experts.size(), rest.data() + end, e);
  const std::string proj = rest.substr(end + 1);      // "gate_proj.weight", "w1.weight"
  std::string kind = proj.substr(0, proj.find('_'));  // gate, up, down
  if (mixtral) kind = proj == "w1.weight" ? "gate" : proj == "w3.weight" ? "up" : "down";
  return GgufName{blk + "ffn_" + kind + "_exps.weight", e};
}

}  // namespace moescope
