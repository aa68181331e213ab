#include "model/rope_frequencies.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace moescope {
namespace {

double yarn_mscale(double factor, double mscale) {
  return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

// The dimension at which a wavelength makes `rotations` turns over the original context.
double correction_dim(double rotations, int dim, double base, int context) {
  return dim * std::log(context / (rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
}

}  // namespace

std::vector<double> rope_inverse_frequencies(const ModelConfig& c, int dim) {
  const int pairs = dim / 2;
  std::vector<double> inv(pairs);
  for (int i = 0; i < pairs; ++i) inv[i] = std::pow(double(c.rope_theta), -2.0 * i / dim);
  if (!c.rope_yarn) return inv;
  const YarnRope& y = *c.rope_yarn;
  const int context = y.original_max_position_embeddings;
  double low = correction_dim(y.beta_fast, dim, c.rope_theta, context);
  double high = correction_dim(y.beta_slow, dim, c.rope_theta, context);
  if (y.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, double(dim - 1));
  if (low == high) high += 0.001;  // as HF: no division by zero
  for (int i = 0; i < pairs; ++i) {
    const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
    const double extrapolation = 1 - ramp;  // share of the unscaled frequency
    inv[i] = inv[i] / y.factor * (1 - extrapolation) + inv[i] * extrapolation;
  }
  return inv;
}

double rope_attention_factor(const ModelConfig& c) {
  if (!c.rope_yarn) return 1.0;
  const YarnRope& y = *c.rope_yarn;
  if (y.attention_factor) return *y.attention_factor;
  if (y.mscale && y.mscale_all_dim)
    return yarn_mscale(y.factor, *y.mscale) / yarn_mscale(y.factor, *y.mscale_all_dim);
  return yarn_mscale(y.factor, 1.0);
}

double latent_softmax_scale(const ModelConfig& c) {
  const double scale = 1.0 / std::sqrt(double(c.mla->qk_nope_head_dim + c.mla->qk_rope_head_dim));
  if (!c.rope_yarn || !c.rope_yarn->mscale_all_dim) return scale;
  const double m = yarn_mscale(c.rope_yarn->factor, *c.rope_yarn->mscale_all_dim);
  return scale * m * m;
}

}  // namespace moescope
