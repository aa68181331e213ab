#pragma once
// One experiment run as the Experiments panel asks for it; crosses to the
// worker thread in a queued signal.
#include <QMetaType>
#include <QStringList>
#include <memory>

#include "analysis/experiment_result.h"
#include "analysis/experiments.h"
#include "jobs/server_job.h"

struct ExperimentJob {
  QString experiment;     // catalogue name, e.g. "redundancy"
  QStringList modelDirs;  // models compared, in legend order
  QStringList textFiles;  // labelled texts, one label per file
  QString backend = QStringLiteral("auto");
  moescope::ExperimentSettings settings;
  // url set: the routing analyses run on this served model instead of modelDirs,
  // at most requestsPerSecond requests a second.
  ServerJob server;
  double requestsPerSecond = 4.0;
};

using ExperimentResultPtr = std::shared_ptr<const moescope::ExperimentResult>;

Q_DECLARE_METATYPE(ExperimentJob)
Q_DECLARE_METATYPE(ExperimentResultPtr)
