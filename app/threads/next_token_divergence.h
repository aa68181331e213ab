#pragma once
// How far a switch moved the model's next-token distribution.
#include <atomic>
#include <cstddef>
#include <span>
#include <vector>

#include "run/backend.h"
#include "run/interventions.h"

// KL(softmax(p) ‖ softmax(q)) in nats, computed in double: p the baseline's
// logits, q the intervened run's, over the same vocabulary.
double nextTokenKl(std::span<const float> p, std::span<const float> q);

// A comparison's baseline run: its token ids (prompt first) and, for each
// generated token j, the logits it was drawn from (kept up to a byte budget,
// so perhaps for the first ones only).
struct BaselineDistributions {
  std::vector<int> ids;
  int promptTokens = 0;
  std::vector<std::vector<float>> logits;  // [kept tokens][vocab]

  // Logits of more tokens than this many bytes are not kept (1310 tokens at
  // deepseek-moe-16b's 102400-entry vocabulary).
  static constexpr std::size_t maxBytes = std::size_t(512) << 20;
  static int tokensThatFit(std::size_t vocab) { return int(maxBytes / (vocab * sizeof(float))); }
};

// Teacher-forced: the switched model reads the baseline's own tokens, and
// every kept distribution is compared with the switched model's on the same
// context, KL(baseline ‖ switched) per generated token. Resets the backend's
// cache; stops early (fewer values) when `cancel` is set.
std::vector<double> teacherForcedKl(moescope::Backend& backend,
                                    const BaselineDistributions& baseline,
                                    const moescope::Interventions& switches,
                                    const std::atomic<bool>* cancel);
