#pragma once
// The window's handle on the engine: owns the worker thread, the cancel flag
// and the token buffer, and streams each run into a RoutingDocument in batches
// on a GUI-thread timer (one document update per ~33 ms, however fast the model).
// The model is a local one (loadModel) or one served by vLLM or SGLang
// (connectServer); both workers share the thread and reach the same document.
#include <QObject>
#include <QThread>
#include <QTimer>
#include <atomic>
#include <optional>

#include "jobs/metatypes.h"
#include "jobs/server_job.h"
#include "threads/inference_worker.h"
#include "threads/token_pacer.h"

class RoutingDocument;
class ServedWorker;

class InferenceController : public QObject {
  Q_OBJECT

 public:
  explicit InferenceController(RoutingDocument* document, QObject* parent = nullptr);
  ~InferenceController() override;  // cancels, then joins the worker thread

  // Both return false (and do nothing) while a load or a run is in flight.
  bool loadModel(const QString& dir, const QString& backend = QStringLiteral("auto"));
  bool connectServer(const ServerJob& job);  // modelLoaded / loadFailed as loadModel
  bool generate(const GenerationJob& job);
  // Safe to call any time; the worker sees it between tokens or layers.
  void cancel() { cancel_.store(true, std::memory_order_relaxed); }

  // How fast generated tokens reach the document (the engine runs ahead). A run
  // stays busy until its last token is shown; cancel() shows the rest at once.
  void setPace(TokenPacer::Mode mode, double tokensPerSecond = 2.0);
  TokenPacer::Mode pace() const { return pacer_.mode(); }
  void stepToken();  // step mode: the next generated token

  bool isBusy() const { return state_ != State::idle; }
  bool isLoading() const { return state_ == State::loading; }
  const std::optional<ModelSummary>& model() const { return model_; }
  // The server Generate uses while the model is a served one; nullopt for a local model.
  const std::optional<ServerJob>& server() const { return server_; }

 signals:
  void busyChanged(bool busy);
  void loadProgress(int done, int total);
  void modelLoaded(const ModelSummary& summary);
  void loadFailed(const QString& message, bool cancelled);
  void runStarted(const QString& tag);
  void runFinished(const RunStats& stats);  // after the run's last token is in the document
  void runFailed(const QString& message);
  // A served run's generated text so far, before its tokens and routing arrive.
  void servedTextArrived(const QString& text);

 signals:  // to the worker, queued onto its thread
  void loadRequested(const QString& dir, const QString& backend);
  void generateRequested(const GenerationJob& job);
  void connectServerRequested(const ServerJob& job);
  void servedGenerateRequested(const GenerationJob& job);

 private:
  enum class State { idle, loading, generating };
  void setState(State state);
  void drain();
  void finishRun(const RunStats& stats);
  void onWorkerError(const QString& message);
  void connectWorker(RunWorker* worker);

  RoutingDocument* document_;
  QThread thread_;
  std::atomic<bool> cancel_{false};
  TokenBuffer tokens_;
  InferenceWorker* worker_;     // lives on thread_, deleted when it finishes
  ServedWorker* servedWorker_;  // likewise
  QTimer drainTimer_;
  State state_ = State::idle;
  bool runActive_ = false;  // the document holds the current run's header
  TokenPacer pacer_;
  std::optional<RunStats> finished_;  // the engine is done; the pacer still holds tokens
  std::optional<ModelSummary> model_;
  std::optional<ServerJob> server_;
  std::optional<ServerJob> connecting_;  // the server of the load in flight, if it is one
};
