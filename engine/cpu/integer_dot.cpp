#include "cpu/integer_dot.h"

#include <cmath>
#include <limits>

#include "cpu/byte_vector.h"

namespace moescope::cpu {
namespace {

using namespace bytes;

// Each block's weights as the integers its scales multiply.
Bytes integers_of(const BlockQ8_0& b) {
  return load(b.qs);
}
Bytes integers_of(const BlockQ4_0& b) {  // byte j: weight j (low nibble) and j + 16
  return minus(nibbles_of_16(b.qs), 8);
}

template <typename Block>
void add_block(const Block& w, const ActivationBlock* x, FloatLanes& lanes, float&) {
  lanes.add(block_scale(w.d) * x->d, signed_quads(integers_of(w), x->q));
}

// Sub-block s of 32 weights is d * sc[s] * q - dmin * m[s], so its product with
// activation block s is x.d * d * sc[s] * sum(q * x.q) - x.d * dmin * m[s] * sum(x.q); the
// second terms go to `minimums`.
void add_block(const BlockQ4_K& w, const ActivationBlock* x, FloatLanes& lanes, float& minimums) {
  const float d = block_scale(w.d), dmin = block_scale(w.dmin);
  const auto add = [&](int s, Bytes q) {
    int scale, min;
    q4_k_scale_min(w.scales, s, scale, min);
    lanes.add(x[s].d * d * float(scale), unsigned_quads(q, x[s].q));
    minimums += x[s].d * dmin * float(min) * float(x[s].sum);
  };
  for (int pair = 0; pair < 4; ++pair) {  // sub-blocks 2 pair and 2 pair + 1 share 32 bytes
    const Bytes q = load(w.qs + 32 * pair);
    add(2 * pair, low_nibbles(q));
    add(2 * pair + 1, high_nibbles(q));
  }
}

// Weights d * sc * (q - 32), one scale per 16: q - 32 is a signed byte, and each half of
// an activation block meets its own scale.
void add_block(const BlockQ6_K& w, const ActivationBlock* x, FloatLanes& lanes, float&) {
  const float d = block_scale(w.d);
  for (int half = 0; half < 2; ++half) {
    const Bytes low = load(w.ql + 64 * half), high = load(w.ql + 64 * half + 32);
    const Bytes top = load(w.qh + 32 * half);
    const Bytes q[4] = {or_bits(low_nibbles(low), two_bits_to_4<0>(top)),
                        or_bits(low_nibbles(high), two_bits_to_4<2>(top)),
                        or_bits(high_nibbles(low), two_bits_to_4<4>(top)),
                        or_bits(high_nibbles(high), two_bits_to_4<6>(top))};
    for (int j = 0; j < 4; ++j) {
      const ActivationBlock& a = x[4 * half + j];
      const std::int8_t* sc = w.scales + 8 * half + 2 * j;
      lanes.add(a.d * d * float(sc[0]), a.d * d * float(sc[1]), signed_quads(minus(q[j], 32), a.q));
    }
  }
}

// One row: every block's scaled integer sums in eight lanes, summed once.
template <typename Block>
float dot(const Block* w, const ActivationBlock* x, int n_blocks) {
  FloatLanes lanes;
  float minimums = 0.0f;
  for (int b = 0; b < n_blocks; ++b, x += Block::elements / 32) add_block(w[b], x, lanes, minimums);
  return lanes.total() - minimums;
}

}  // namespace

void quantize_activations(const float* x, int n, std::vector<ActivationBlock>& out) {
  for (int start = 0; start < n; start += 32) {
    const float* v = x + start;
    ActivationBlock block{};
    float amax = 0.0f;
    bool finite = true;
    for (int i = 0; i < 32; ++i) {
      finite = finite && std::isfinite(v[i]);
      amax = std::max(amax, std::abs(v[i]));
    }
    if (!finite) {
      block.d = std::numeric_limits<float>::quiet_NaN();
    } else if (amax > 0.0f) {
      block.d = amax / 127.0f;
      const float inverse = 127.0f / amax;
      for (int i = 0; i < 32; ++i) block.q[i] = std::int8_t(std::nearbyint(v[i] * inverse));
      for (int i = 0; i < 32; ++i) block.sum += block.q[i];
    }
    out.push_back(block);
  }
}

float integer_dot(const BlockQ8_0* w, const ActivationBlock* x, int n_blocks) {
  return dot(w, x, n_blocks);
}
float integer_dot(const BlockQ4_0* w, const ActivationBlock* x, int n_blocks) {
  return dot(w, x, n_blocks);
}
float integer_dot(const BlockQ4_K* w, const ActivationBlock* x, int n_blocks) {
  return dot(w, x, n_blocks);
}
float integer_dot(const BlockQ6_K* w, const ActivationBlock* x, int n_blocks) {
  return dot(w, x, n_blocks);
}

}  // namespace moescope::cpu
