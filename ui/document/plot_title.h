#pragma once
// The title line an exported plot carries onto a slide: which model, which
// prompt, and what the plot shows.
#include <QString>

#include "io/snapshot.h"

namespace PlotTitle {

// "deepseekmoe-tiny · “Once upon a time, a little…” · token × expert · layer 1 ·
// gate weight (chosen)": the model, the prompt cut to `promptChars`, then `what`.
QString of(const moescope::RoutingSnapshot& run, const QString& what, int promptChars = 32);

}  // namespace PlotTitle
