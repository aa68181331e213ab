#include "model/config_keys.h"

#include <algorithm>
#include <array>
#include <span>

namespace moescope {
namespace {

using enum KeyHandling;

// Keys of every family's config (PretrainedConfig's, and the shape of a decoder).
constexpr ConfigKey common_keys[] = {
    {"model_type", honoured, "picks the family"},
    {"architectures", honoured, "shown by info"},
    {"vocab_size", honoured, "embedding and lm_head rows"},
    {"hidden_size", honoured, "model width"},
    {"intermediate_size", honoured, "dense MLP width"},
    {"num_hidden_layers", honoured, "layers"},
    {"num_attention_heads", honoured, "query heads"},
    {"num_key_value_heads", honoured, "KV heads (grouped-query attention)"},
    {"head_dim", honoured, "only hidden_size / num_attention_heads"},
    {"max_position_embeddings", honoured, "context length"},
    {"hidden_act", honoured, "only \"silu\""},
    {"rms_norm_eps", honoured, "RMSNorm epsilon"},
    {"rope_theta", honoured, "RoPE base (transformers < 5)"},
    {"rope_scaling", honoured, "only null, \"default\" or \"linear\" (transformers < 5)"},
    {"rope_parameters", honoured,
     "RoPE base and type: only \"default\" or \"linear\" (transformers 5)"},
    {"tie_word_embeddings", honoured, "lm_head shares the embedding"},
    {"bos_token_id", honoured, "start of a prompt"},
    {"eos_token_id", honoured, "ends a reply (every id of a list)"},
    {"num_experts_per_tok", honoured, "routed experts per token (k)"},
    {"attention_bias", honoured, "only false"},
    {"sliding_window", honoured,
     "only none or at least max_position_embeddings (Qwen2-MoE: only with use_sliding_window)"},
    {"torch_dtype", ignored, "each tensor carries its own dtype"},
    {"dtype", ignored, "each tensor carries its own dtype (transformers 5 spelling)"},
    {"pad_token_id", ignored, "padding of batches; runs here are unpadded"},
    {"use_cache", ignored, "a generation switch; the engine always keeps its KV cache"},
    {"initializer_range", ignored, "training: weight initialisation"},
    {"attention_dropout", ignored, "training: dropout"},
    {"output_router_logits", ignored, "training: returns router logits for the balance loss"},
    {"router_aux_loss_coef", ignored, "training: weight of the balance loss"},
    {"transformers_version", ignored, "metadata"},
    {"_name_or_path", ignored, "metadata"},
    {"auto_map", ignored, "Python classes for trust_remote_code; the engine has its own"},
    {"id2label", ignored, "classification heads only"},
    {"label2id", ignored, "classification heads only"},
    {"problem_type", ignored, "classification heads only"},
    {"is_encoder_decoder", ignored, "false for every family here"},
    {"chunk_size_feed_forward", ignored, "a memory saving of the Python code; same result"},
    {"output_attentions", ignored, "Python outputs"},
    {"output_hidden_states", ignored, "Python outputs"},
    {"return_dict", ignored, "Python outputs"},
    {"quantization_config", refused,
     "quantized checkpoints (GPTQ, AWQ, bitsandbytes) are not supported"},
};

constexpr ConfigKey deepseek_keys[] = {
    {"n_routed_experts", honoured, "routed experts (0 or null: a dense model)"},
    {"n_shared_experts", honoured, "shared experts, one MLP of n x moe_intermediate_size"},
    {"moe_intermediate_size", honoured, "routed expert width"},
    {"first_k_dense_replace", honoured, "leading dense layers"},
    {"moe_layer_freq", honoured, "every n-th layer is MoE"},
    {"norm_topk_prob", honoured, "renormalise the top-k weights (k > 1)"},
    {"scoring_func", honoured, "only \"softmax\""},
    {"aux_loss_alpha", ignored, "training: weight of the balance loss"},
    {"seq_aux", ignored, "training: sequence-level balance loss"},
    {"pretraining_tp", ignored, "a slicing of the same matmuls; same result"},
    {"topk_method", refused, "DeepSeek-V2/V3 routing (model_type deepseek_v2/v3)"},
    {"n_group", refused, "DeepSeek-V2/V3 group-limited routing"},
    {"topk_group", refused, "DeepSeek-V2/V3 group-limited routing"},
    {"routed_scaling_factor", refused, "DeepSeek-V2/V3 scaling of routed outputs"},
    {"kv_lora_rank", refused, "DeepSeek-V2/V3 multi-head latent attention"},
    {"q_lora_rank", refused, "DeepSeek-V2/V3 multi-head latent attention"},
};

constexpr ConfigKey mixtral_keys[] = {
    {"num_local_experts", honoured, "routed experts (as wide as intermediate_size)"},
    {"router_jitter_noise", ignored, "training: noise on the router input"},
};

constexpr ConfigKey qwen2_moe_keys[] = {
    {"num_experts", honoured, "routed experts"},
    {"moe_intermediate_size", honoured, "routed expert width"},
    {"shared_expert_intermediate_size", honoured, "width of the sigmoid-gated shared expert"},
    {"norm_topk_prob", honoured, "renormalise the top-k weights"},
    {"decoder_sparse_step", honoured, "MoE iff (layer + 1) % step == 0"},
    {"mlp_only_layers", honoured, "layers that stay dense"},
    {"qkv_bias", honoured, "q/k/v projections have biases (default true)"},
    {"use_sliding_window", honoured, "only false, or a window no position reaches"},
    {"layer_types", honoured, "only \"full_attention\" layers"},
    {"max_window_layers", ignored, "only used with use_sliding_window"},
};

constexpr ConfigKey olmoe_keys[] = {
    {"num_experts", honoured, "routed experts (as wide as intermediate_size)"},
    {"norm_topk_prob", honoured, "renormalise the top-k weights"},
    {"clip_qkv", honoured, "clamp of q, k, v after their norms"},
};

constexpr ConfigKey qwen3_moe_keys[] = {
    {"num_experts", honoured, "routed experts"},
    {"num_local_experts", honoured, "routed experts (transformers 5 spelling)"},
    {"moe_intermediate_size", honoured, "routed expert width"},
    {"head_dim", honoured, "width of a q/k/v head (q/k/v are heads x head_dim)"},
    {"norm_topk_prob", honoured, "renormalise the top-k weights"},
    {"decoder_sparse_step", honoured, "MoE iff (layer + 1) % step == 0"},
    {"mlp_only_layers", honoured, "layers that stay dense"},
    {"use_sliding_window", honoured, "only false, or a window no position reaches"},
    {"layer_types", honoured, "only \"full_attention\" layers"},
    {"max_window_layers", ignored, "only used with use_sliding_window"},
};

// Multi-head latent attention and the group routing, DeepSeek-V2 and V3 alike.
#define MOESCOPE_DEEPSEEK_V2_V3_KEYS                                                              \
  {"n_routed_experts", honoured, "routed experts"},                                               \
      {"n_shared_experts", honoured, "shared experts, one MLP of n x moe_intermediate_size"},     \
      {"moe_intermediate_size", honoured, "routed expert width"},                                 \
      {"first_k_dense_replace", honoured, "leading dense layers"},                                \
      {"moe_layer_freq", honoured, "every n-th layer is MoE"},                                    \
      {"n_group", honoured, "experts in n_group equal groups (group routing)"},                   \
      {"topk_group", honoured, "groups a token may route to"},                                    \
      {"routed_scaling_factor", honoured, "gate weights times this"},                             \
      {"q_lora_rank", honoured, "null: q_proj; else q_a_proj, its RMSNorm and q_b_proj"},         \
      {"kv_lora_rank", honoured, "width of the compressed latent the KV cache keeps"},            \
      {"qk_nope_head_dim", honoured, "per-head key/query width without RoPE"},                    \
      {"qk_rope_head_dim", honoured, "width of the RoPE part (one key shared by all heads)"},     \
      {"v_head_dim", honoured, "per-head value width"},                                           \
      {"head_dim", honoured, "transformers 5 writes qk_rope_head_dim here; must agree"},          \
      {"qk_head_dim", honoured, "transformers 5: qk_nope + qk_rope; must agree"},                 \
      {"rope_scaling", honoured, "null, \"default\", \"linear\" or \"yarn\" (its mscale terms)"}, \
      {"rope_parameters", honoured, "\"default\", \"linear\" or \"yarn\" (transformers 5)"},      \
      {"mlp_bias", honoured, "only false"},                                                       \
      {"aux_loss_alpha", ignored, "training: weight of the balance loss"},                        \
      {"seq_aux", ignored, "training: sequence-level balance loss"},                              \
      {"pretraining_tp", ignored, "a slicing of the same matmuls; same result"}, {                \
    "ep_size", ignored, "expert parallelism across devices; same result"                          \
  }

constexpr ConfigKey deepseek_v2_keys[] = {
    MOESCOPE_DEEPSEEK_V2_V3_KEYS,
    {"topk_method", honoured, "\"greedy\" or \"group_limited_greedy\" (groups by their best)"},
    {"scoring_func", honoured, "only \"softmax\""},
    {"norm_topk_prob", honoured, "only false (transformers' DeepseekV2 never renormalises)"},
};

constexpr ConfigKey deepseek_v3_keys[] = {
    MOESCOPE_DEEPSEEK_V2_V3_KEYS,
    {"topk_method", honoured, "only \"noaux_tc\" (groups by their two best biased scores)"},
    {"scoring_func", honoured, "only \"sigmoid\""},
    {"norm_topk_prob", honoured, "renormalise the top-k weights (default true)"},
    {"rope_interleave", honoured, "RoPE on interleaved pairs (default true) or rotate-half"},
    {"num_nextn_predict_layers", ignored,
     "multi-token prediction: its layers (index >= num_hidden_layers) are not loaded"},
    {"quantization_config", refused, "FP8 block-scaled or other quantized weights"},
};
#undef MOESCOPE_DEEPSEEK_V2_V3_KEYS

std::span<const ConfigKey> family_keys(Family family) {
  switch (family) {
    case Family::mixtral:
      return mixtral_keys;
    case Family::qwen2_moe:
      return qwen2_moe_keys;
    case Family::olmoe:
      return olmoe_keys;
    case Family::qwen3_moe:
      return qwen3_moe_keys;
    case Family::deepseek_v2:
      return deepseek_v2_keys;
    case Family::deepseek_v3:
      return deepseek_v3_keys;
    case Family::deepseek:
      break;
  }
  return deepseek_keys;
}

const char* handling_name(KeyHandling h) {
  switch (h) {
    case honoured:
      return "honoured";
    case ignored:
      return "ignored";
    case refused:
      break;
  }
  return "refused";
}

// A common key the family's table names again (Qwen3-MoE's head_dim) is the family's.
bool overridden(Family family, const ConfigKey& common) {
  const auto own = family_keys(family);
  return std::any_of(own.begin(), own.end(), [&](const ConfigKey& key) {
    return std::string_view(key.name) == common.name;
  });
}

}  // namespace

std::vector<ConfigKey> config_keys(Family family) {
  std::vector<ConfigKey> keys;
  for (const ConfigKey& key : common_keys)
    if (!overridden(family, key)) keys.push_back(key);
  const auto own = family_keys(family);
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

const ConfigKey* find_config_key(Family family, std::string_view name) {
  for (const auto table : {family_keys(family), std::span<const ConfigKey>(common_keys)})
    for (const ConfigKey& key : table)
      if (name == key.name) return &key;
  return nullptr;
}

bool name_shapes_forward_pass(std::string_view name) {
  constexpr std::array words = {"rope",   "rotary", "attention", "attn",   "norm",         "expert",
                                "router", "routed", "scaling",   "scale",  "window",       "bias",
                                "head",   "moe",    "topk",      "gate",   "act",          "dim",
                                "embed",  "layer",  "vocab",     "hidden", "intermediate", "eps",
                                "theta",  "factor", "softcap",   "quant"};
  return std::any_of(words.begin(), words.end(),
                     [&](const char* w) { return name.find(w) != std::string_view::npos; });
}

std::string config_key_tables_markdown() {
  std::string out;
  for (const auto& [family, title] :
       {std::pair{Family::deepseek, "DeepSeekMoE (`deepseek`)"},
        std::pair{Family::mixtral, "Mixtral (`mixtral`)"},
        std::pair{Family::qwen2_moe, "Qwen2-MoE (`qwen2_moe`)"},
        std::pair{Family::olmoe, "OLMoE (`olmoe`)"},
        std::pair{Family::qwen3_moe, "Qwen3-MoE (`qwen3_moe`)"},
        std::pair{Family::deepseek_v2, "DeepSeek-V2 (`deepseek_v2`)"},
        std::pair{Family::deepseek_v3, "DeepSeek-V3 (`deepseek_v3`)"}}) {
    out += std::string("#### ") + title + "\n\n| key | | what |\n|---|---|---|\n";
    for (const auto table : {family_keys(family), std::span<const ConfigKey>(common_keys)})
      for (const ConfigKey& key : table)
        if (table.data() != common_keys || !overridden(family, key))
          out += std::string("| `") + key.name + "` | " + handling_name(key.handling) + " | " +
                 key.note + " |\n";
    out += "\n";
  }
  return out;
}

}  // namespace moescope
