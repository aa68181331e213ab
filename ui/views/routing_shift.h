#pragma once
// How a switch moved the routing: per MoE layer, each routed expert's share of
// the layer's choices in the baseline and in the intervened run (every token of
// each, prompt included: the prompt is the same text in both, so its shift is
// the switch's alone), and a line saying where the switched-off experts' load went.
#include <QString>
#include <vector>

#include "io/snapshot.h"
#include "run/interventions.h"

namespace RoutingShift {

struct Layer {
  int layer = 0;
  std::vector<double> before, after;  // [experts] share of the layer's choices, 0..1
  std::vector<int> switchedOff;       // routed experts off in this layer
};

std::vector<Layer> perLayer(const std::vector<moescope::SnapshotToken>& baseline,
                            const std::vector<moescope::SnapshotToken>& intervened,
                            const moescope::Interventions& interventions,
                            const std::vector<int>& moeLayers, int experts);

// "L2 · off: e5, e7 (had 17% of the choices) → e3 +6.1 pts, e1 +4.0 pts, e2 +3.2 pts";
// with nothing off in the layer, the largest moves either way.
QString describe(const Layer& layer, int shown = 3);

}  // namespace RoutingShift
