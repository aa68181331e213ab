#pragma once
// The CPU backend's numerical ops. Activations are f32; matrix weights stay in
// their storage dtype and are widened on the fly. Shapes follow PyTorch
// nn.Linear: a weight [out, in] maps x [in] to y [out].
#include <cstdint>
#include <span>

#include "model/tensor_view.h"

namespace moescope::cpu {

// y[out] = W[out, in] · x[in], rows split over all cores.
void matvec(const TensorView& w, const float* x, float* y);

// y[n, out] = x[n, in] · W[out, in]^T: n tokens at once, each weight row read
// from memory once per batch. Row t of y equals matvec(w, x + t * in) exactly.
void matmul(const TensorView& w, const float* x, int n, float* y);

// One of several products: y[n, rows] = x[n, cols] · w^T.
struct Product {
  const TensorView* w;
  const float* x;
  int n;
  float* y;
};

// Every product in one parallel region over all their rows: the chosen experts' small
// matrices wait at one barrier instead of one each. Each y equals matmul's bit for bit.
void matmul_all(std::span<const Product> products);

// out[n] = x / sqrt(mean(x^2) + eps) * weight[n]
void rmsnorm(float* out, const float* x, const float* weight, int n, float eps);

// Rotate-half (NeoX) RoPE over the full head_dim of each of n_heads heads in v.
void rope(float* v, int n_heads, int head_dim, float position, float theta);

// rope() in two steps, so that a position's angles serve every layer: cos and sin
// [head_dim / 2] of position * theta^(-2i / head_dim), then the rotation by them.
void rope_angles(int head_dim, float position, float theta, float* cos, float* sin);
void rope_rotate(float* v, int n_heads, int head_dim, const float* cos, const float* sin);

// In place, numerically stable.
void softmax(float* x, int n);

// gate[i] = silu(gate[i]) * up[i]
void silu_mul(float* gate, const float* up, int n);

}  // namespace moescope::cpu
