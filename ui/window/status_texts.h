#pragma once
// Texts the window shows after a run or a failure, in plain words.
#include <QString>

#include "jobs/metatypes.h"

namespace StatusTexts {

// "30 tokens · 85.2 tokens/s · prompt 12 in 0.010 s · stopped: token limit",
// short enough to stand whole beside the model at 1280 pixels.
// The rate is decode only: the prompt runs in batches, many times faster, so
// mixing the two made the rate jump with the prompt's length.
QString runFinished(const RunStats& stats, int contextLength);

// An engine message for a dialog, without a parsing library's internal tag
// ("[json.exception.parse_error.101] ").
QString plainError(const QString& message);

}  // namespace StatusTexts
