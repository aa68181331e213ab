#pragma once
// The window's served model (File ▸ Connect to Server): lives on the inference
// controller's worker thread beside the local engine's worker, and runs Generate
// on a vLLM or SGLang server through engine/remote. Its signals are the local
// worker's (RunWorker), so a served run reaches the same document and views; every slot is
// a catch boundary (errors become errorOccurred).
#include <QObject>
#include <QStringList>
#include <atomic>
#include <memory>

#include "jobs/metatypes.h"
#include "jobs/server_job.h"
#include "threads/run_worker.h"

namespace moescope {
struct ServedModel;
}

// The models the server names at GET /v1/models. Blocks: call it off the GUI
// thread. Throws EngineError (unreachable, TLS, 401/403, a malformed answer, or a
// build without libcurl).
QStringList fetchServedModels(const ServerJob& job);

class ServedWorker : public RunWorker {
  Q_OBJECT

 public:
  ServedWorker(const std::atomic<bool>* cancel, TokenBuffer* tokens);
  ~ServedWorker() override;

 public slots:
  // Reads the config (and tokenizer), checks the server serves job.model, and
  // then replaces the served model.
  void connectServer(const ServerJob& job);
  // A plain run on the server: the prompt with its sampling settings. Refused
  // with interventions or in chat mode (they need the local engine).
  void generate(const GenerationJob& job);

 signals:
  // Generated text as the server streams it, before its routing (which comes with
  // the whole answer); the tokens reach the buffer once it has.
  void textArrived(const QString& text);

 private:
  ServerJob server_;
  std::unique_ptr<moescope::ServedModel> model_;
};
