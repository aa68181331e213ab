#pragma once
// How far a switch moved the model's next-token distribution.
#include <span>

// KL(softmax(p) ‖ softmax(q)) in nats, computed in double: p the baseline's
// logits, q the intervened run's, over the same vocabulary.
double nextTokenKl(std::span<const float> p, std::span<const float> q);
