#pragma once
// Adapts the engine to Qt: lives on the controller's worker thread, owns the
// model, backend and tokenizer, and turns engine calls into signals. Every
// slot is a catch boundary: engine errors become errorOccurred, never crashes.
#include <QObject>
#include <QString>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "chat/chat_session.h"
#include "io/snapshot.h"
#include "jobs/metatypes.h"
#include "model/model.h"
#include "run/backend.h"
#include "threads/next_token_divergence.h"
#include "threads/run_worker.h"
#include "tokenizer/tokenizer.h"

class InferenceWorker : public RunWorker {
  Q_OBJECT

 public:
  InferenceWorker(const std::atomic<bool>* cancel, TokenBuffer* tokens);
  ~InferenceWorker() override;

 public slots:
  // Loads into locals first; the current model is replaced only on success.
  void loadModel(const QString& dir, const QString& backend);
  void generate(const GenerationJob& job);

 signals:
  void loadProgress(int done, int total);

 private:
  // Declared in this order so the backend, which refers to the model, goes first.
  std::unique_ptr<moescope::Model> model_;
  std::unique_ptr<moescope::Tokenizer> tokenizer_;
  std::unique_ptr<moescope::Backend> backend_;
  // The conversation of chat mode, holding the backend's KV cache between
  // turns; refers to the three above, so it goes first. Null without a
  // (usable) chat template. A new model starts a new one; a plain run or other
  // interventions make the next turn prefill the whole conversation again;
  // sampling settings do not touch the cache.
  std::unique_ptr<moescope::ChatSession> chat_;
  // A comparison's baseline: its tokens and the logits each generated token
  // was drawn from, until its intervened twin has been measured against them.
  BaselineDistributions baseline_;

  void runChatTurn(const GenerationJob& job);
};
