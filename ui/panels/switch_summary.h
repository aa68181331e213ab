#pragma once
// The expert switches in one line, for the banner beside Generate and the
// switches panel: "12 experts off in 3 layers · shared off in layer 2".
#include <QString>

#include "run/interventions.h"

namespace SwitchSummary {

// "All experts on." when nothing is switched; otherwise each kind of switch,
// joined by " · ": per-layer experts, experts off in every layer, shared, k.
QString describe(const moescope::Interventions& interventions);

// How many MoE layers have `expert` switched off on its own (not via all layers).
int layersWithExpertOff(const moescope::Interventions& interventions, int expert);

}  // namespace SwitchSummary
