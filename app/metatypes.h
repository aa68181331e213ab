#pragma once
// Plain structs that cross the worker/GUI thread boundary in queued signals.
// Call registerMetatypes() once before the first queued connection.
#include <QMetaType>
#include <QString>
#include <cstdint>

#include "config.h"
#include "interventions.h"
#include "sampling.h"
#include "snapshot.h"

// What the status bar and the panels need to know about a freshly loaded model.
struct ModelSummary {
  QString name;           // directory name
  QString dir;            // absolute model directory
  QString backendName;    // "CPU (2 threads)", "CUDA: NVIDIA H100"
  QString backendReason;  // why this backend ("no CUDA in this build")
  QString configJson;     // config.json as loaded
  moescope::ModelConfig config;
  std::int64_t totalParameters = 0;
  std::int64_t activeParameters = 0;  // per token
};

// One generation run as the window asks for it.
struct GenerationJob {
  QString prompt;
  moescope::SamplingSettings sampling;
  moescope::Interventions interventions;
  QString tag;  // "baseline", "intervened", "run": lets the window tell runs apart
};

struct RunStats {
  int promptTokens = 0;
  int generatedTokens = 0;
  double tokensPerSecond = 0.0;  // decode only
  QString stopReason;            // "token limit", "cancelled", ...
  QString tag;
};

Q_DECLARE_METATYPE(ModelSummary)
Q_DECLARE_METATYPE(GenerationJob)
Q_DECLARE_METATYPE(RunStats)
Q_DECLARE_METATYPE(moescope::RoutingSnapshot)

inline void registerMetatypes() {
  qRegisterMetaType<ModelSummary>();
  qRegisterMetaType<GenerationJob>();
  qRegisterMetaType<RunStats>();
  qRegisterMetaType<moescope::RoutingSnapshot>();
}
