#include "threads/inference_controller.h"

#include "document/routing_document.h"
#include "threads/served_worker.h"

namespace {
constexpr int drainIntervalMs = 33;  // ~30 repaints a second at most
}

InferenceController::InferenceController(RoutingDocument* document, QObject* parent)
    : QObject(parent),
      document_(document),
      worker_(new InferenceWorker(&cancel_, &tokens_)),
      servedWorker_(new ServedWorker(&cancel_, &tokens_)) {
  registerMetatypes();
  qRegisterMetaType<ServerJob>();
  thread_.setObjectName(QStringLiteral("inference"));
  connectWorker(worker_);
  connectWorker(servedWorker_);
  connect(this, &InferenceController::loadRequested, worker_, &InferenceWorker::loadModel);
  connect(this, &InferenceController::generateRequested, worker_, &InferenceWorker::generate);
  connect(worker_, &InferenceWorker::loadProgress, this, &InferenceController::loadProgress);
  connect(this, &InferenceController::connectServerRequested, servedWorker_,
          &ServedWorker::connectServer);
  connect(this, &InferenceController::servedGenerateRequested, servedWorker_,
          &ServedWorker::generate);
  connect(servedWorker_, &ServedWorker::textArrived, this, &InferenceController::servedTextArrived);

  drainTimer_.setInterval(drainIntervalMs);
  connect(&drainTimer_, &QTimer::timeout, this, &InferenceController::drain);
  thread_.start();
}

// The signals both workers send, handled alike.
void InferenceController::connectWorker(RunWorker* worker) {
  worker->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker, &QObject::deleteLater);
  connect(worker, &RunWorker::modelLoaded, this, [this](const ModelSummary& summary) {
    model_ = summary;
    server_ = std::exchange(connecting_, std::nullopt);
    setState(State::idle);
    emit modelLoaded(summary);
  });
  connect(worker, &RunWorker::runStarted, this,
          [this](const moescope::RoutingSnapshot& header, const QString& tag) {
            document_->reset(header);
            pacer_.clear();
            finished_.reset();
            runActive_ = true;
            drainTimer_.start();
            emit runStarted(tag);
          });
  connect(worker, &RunWorker::runFinished, this, [this](const RunStats& stats) {
    finished_ = stats;
    drain();  // the last tokens were buffered before this signal was sent
  });
  connect(worker, &RunWorker::errorOccurred, this, &InferenceController::onWorkerError);
}

InferenceController::~InferenceController() {
  cancel();
  thread_.quit();
  thread_.wait();
}

bool InferenceController::loadModel(const QString& dir, const QString& backend) {
  if (isBusy()) return false;
  cancel_ = false;
  connecting_.reset();
  setState(State::loading);
  emit loadRequested(dir, backend);
  return true;
}

bool InferenceController::connectServer(const ServerJob& job) {
  if (isBusy()) return false;
  cancel_ = false;
  connecting_ = job;
  setState(State::loading);
  emit connectServerRequested(job);
  return true;
}

bool InferenceController::generate(const GenerationJob& job) {
  if (isBusy() || !model_) return false;
  cancel_ = false;
  tokens_.take();  // nothing from an earlier run may leak into this one
  setState(State::generating);
  if (server_)
    emit servedGenerateRequested(job);
  else
    emit generateRequested(job);
  return true;
}

void InferenceController::setState(State state) {
  const bool wasBusy = isBusy();
  state_ = state;
  if (wasBusy != isBusy()) emit busyChanged(isBusy());
}

void InferenceController::setPace(TokenPacer::Mode mode, double tokensPerSecond) {
  pacer_.setMode(mode, tokensPerSecond);
  if (runActive_) drain();
}

void InferenceController::stepToken() {
  pacer_.grantStep();
  if (runActive_) drain();
}

void InferenceController::drain() {
  // Tokens wait in the buffer until their run's header reached the document.
  if (!runActive_) return;
  pacer_.push(tokens_.take());
  document_->appendTokens(cancel_.load() ? pacer_.releaseAll() : pacer_.release());
  if (finished_ && !pacer_.holding()) finishRun(*std::exchange(finished_, std::nullopt));
}

void InferenceController::finishRun(const RunStats& stats) {
  runActive_ = false;
  drainTimer_.stop();
  setState(State::idle);
  emit runFinished(stats);
}

void InferenceController::onWorkerError(const QString& message) {
  const State failed = state_;
  if (runActive_) {
    pacer_.push(tokens_.take());
    document_->appendTokens(pacer_.releaseAll());
  }
  finished_.reset();
  runActive_ = false;
  drainTimer_.stop();
  setState(State::idle);
  if (failed == State::loading)
    emit loadFailed(message, cancel_.load());
  else
    emit runFailed(message);
}
