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
#include "tokenizer/tokenizer.h"

// Tokens handed from the worker thread to the GUI thread, which drains them on
// a timer: a fast model then costs one repaint per drain, not one per token.
class TokenBuffer {
 public:
  void push(moescope::SnapshotToken token) {
    std::lock_guard lock(mutex_);
    tokens_.push_back(std::move(token));
  }
  std::vector<moescope::SnapshotToken> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(tokens_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<moescope::SnapshotToken> tokens_;
};

class InferenceWorker : public QObject {
  Q_OBJECT

 public:
  // `cancel` and `tokens` are owned by the controller and outlive the worker.
  InferenceWorker(const std::atomic<bool>* cancel, TokenBuffer* tokens);
  ~InferenceWorker() override;

 public slots:
  // Loads into locals first; the current model is replaced only on success.
  void loadModel(const QString& dir, const QString& backend);
  void generate(const GenerationJob& job);

 signals:
  void loadProgress(int done, int total);
  // After each token is buffered, on the worker thread; `count` counts this
  // run's tokens so far. For observers that must act before the next token
  // (tests); the GUI drains the buffer on a timer instead.
  void tokenBuffered(int count, bool isPrompt);
  void modelLoaded(const ModelSummary& summary);
  // The run's snapshot header (no tokens); its tokens then arrive in the buffer.
  void runStarted(const moescope::RoutingSnapshot& header, const QString& tag);
  void runFinished(const RunStats& stats);
  void errorOccurred(const QString& message);

 private:
  const std::atomic<bool>* cancel_;
  TokenBuffer* tokens_;
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
