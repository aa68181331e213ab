#pragma once
// Plain structs that cross the worker/GUI thread boundary in queued signals.
// Call registerMetatypes() once before the first queued connection.
#include <QMetaType>
#include <QString>
#include <QVector>
#include <cstdint>

#include "io/snapshot.h"
#include "model/config.h"
#include "run/interventions.h"
#include "run/sampling.h"

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
  // tokenizer_config.json has a chat template the renderer reads (chat mode).
  bool hasChatTemplate = false;
  QString chatTemplateProblem;  // why a template that is there cannot be used
};

// One generation run as the window asks for it.
struct GenerationJob {
  QString prompt;
  moescope::SamplingSettings sampling;
  moescope::Interventions interventions;
  QString tag;  // "baseline", "intervened", "run": lets the window tell runs apart
  // Chat mode: `prompt` is the next user turn of the worker's conversation,
  // rendered with the model's template; its KV cache carries over between
  // turns. newChat: forget the conversation first and open the new one with
  // systemPrompt as a system message (unless empty).
  bool chat = false;
  bool newChat = false;
  QString systemPrompt;
  // Compare with experts off: the baseline run keeps its next-token
  // distributions; the intervened run measures its own against them
  // (RunStats::nextTokenKl).
  enum class CompareRole { none, baseline, intervened };
  CompareRole compareRole = CompareRole::none;
};

struct RunStats {
  int promptTokens = 0;
  int generatedTokens = 0;
  double tokensPerSecond = 0.0;  // decode only: generated tokens / decodeSeconds
  // The prompt runs in batches (many tokens a call), decode one token a call:
  // their rates differ by orders of magnitude and are kept apart.
  double prefillSeconds = 0.0;
  double decodeSeconds = 0.0;
  QString stopReason;  // "token limit", "cancelled", ...
  QString tag;
  bool chat = false;
  int reusedTokens = 0;     // chat: positions of the KV cache kept from earlier turns
  int discardedTokens = 0;  // chat: cached positions the new rendering did not match
  // The intervened run of a comparison, teacher-forced: for each token j the
  // baseline generated, KL(baseline ‖ switched) in nats between the two
  // models' next-token distributions on the baseline's own context (model
  // logits, before temperature and top-p), for at most comparedTokenCap
  // tokens (the baseline's logits kept in memory). Empty for other runs.
  QVector<double> nextTokenKl;
  int comparedTokenCap = 0;
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
