#pragma once
// What the local engine's worker and the served model's worker share: the controller's
// cancel flag and token buffer, and the signals that bring a run to the document and
// views, so that a served run reaches them as a local one does.
#include <QObject>
#include <QString>
#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "io/snapshot.h"
#include "jobs/metatypes.h"

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

class RunWorker : public QObject {
  Q_OBJECT

 public:
  // `cancel` and `tokens` are owned by the controller and outlive the worker.
  RunWorker(const std::atomic<bool>* cancel, TokenBuffer* tokens)
      : cancel_(cancel), tokens_(tokens) {}

 signals:
  // After each token is buffered, on the worker thread; `count` counts this
  // run's tokens so far. For observers that must act before the next token
  // (tests); the GUI drains the buffer on a timer instead.
  void tokenBuffered(int count, bool isPrompt);
  void modelLoaded(const ModelSummary& summary);
  // The run's snapshot header (no tokens); its tokens then arrive in the buffer.
  void runStarted(const moescope::RoutingSnapshot& header, const QString& tag);
  void runFinished(const RunStats& stats);
  void errorOccurred(const QString& message);

 protected:
  const std::atomic<bool>* cancel_;
  TokenBuffer* tokens_;
};
