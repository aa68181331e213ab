#pragma once
// The Experiments window's run on a served model: a routing analysis whose
// routing comes from the server (engine/remote's ServedRoutingSource).
#include <atomic>

#include "jobs/experiment_job.h"

// Throws EngineError (no config or tokenizer, the server's refusals, a loss-based
// experiment, a build without libcurl) and Cancelled.
moescope::ExperimentResult runServedExperiment(const ExperimentJob& job,
                                               const moescope::WorkMeter::Callback& progress,
                                               const std::atomic<bool>* cancel);
