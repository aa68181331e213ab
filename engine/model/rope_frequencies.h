#pragma once
// RoPE's per-pair frequencies and the scales YaRN adds, from a config: the same numbers
// for every backend (HF's _compute_yarn_parameters and DeepSeek's yarn_get_mscale).
#include <vector>

#include "model/config.h"

namespace moescope {

// dim / 2 inverse frequencies theta^(-2i / dim), blended with theta^(-2i / dim) / factor
// over YaRN's correction range when config.rope_yarn is set.
std::vector<double> rope_inverse_frequencies(const ModelConfig& config, int dim);

// What YaRN multiplies cos and sin by: attention_factor, else mscale(factor, mscale) /
// mscale(factor, mscale_all_dim) when both are set, else mscale(factor). 1 without YaRN.
double rope_attention_factor(const ModelConfig& config);

// Multi-head latent attention's softmax scale: 1 / sqrt(qk_nope + qk_rope), times
// mscale(factor, mscale_all_dim)^2 under YaRN with mscale_all_dim set.
double latent_softmax_scale(const ModelConfig& config);

}  // namespace moescope
