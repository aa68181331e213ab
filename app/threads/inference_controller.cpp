#include "threads/inference_controller.h"

#include "document/routing_document.h"

namespace {
constexpr int drainIntervalMs = 33;  // ~30 repaints a second at most
}

InferenceController::InferenceController(RoutingDocument* document, QObject* parent)
    : QObject(parent), document_(document), worker_(new InferenceWorker(&cancel_, &tokens_)) {
  registerMetatypes();
  thread_.setObjectName(QStringLiteral("inference"));
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(this, &InferenceController::loadRequested, worker_, &InferenceWorker::loadModel);
  connect(this, &InferenceController::generateRequested, worker_, &InferenceWorker::generate);

  connect(worker_, &InferenceWorker::loadProgress, this, &InferenceController::loadProgress);
  connect(worker_, &InferenceWorker::modelLoaded, this, [this](const ModelSummary& summary) {
    model_ = summary;
    setState(State::idle);
    emit modelLoaded(summary);
  });
  connect(worker_, &InferenceWorker::runStarted, this,
          [this](const moescope::RoutingSnapshot& header, const QString& tag) {
            document_->reset(header);
            pacer_.clear();
            finished_.reset();
            runActive_ = true;
            drainTimer_.start();
            emit runStarted(tag);
          });
  connect(worker_, &InferenceWorker::runFinished, this, [this](const RunStats& stats) {
    finished_ = stats;
    drain();  // the last tokens were buffered before this signal was sent
  });
  connect(worker_, &InferenceWorker::errorOccurred, this, &InferenceController::onWorkerError);

  drainTimer_.setInterval(drainIntervalMs);
  connect(&drainTimer_, &QTimer::timeout, this, &InferenceController::drain);
  thread_.start();
}

InferenceController::~InferenceController() {
  cancel();
  thread_.quit();
  thread_.wait();
}

bool InferenceController::loadModel(const QString& dir, const QString& backend) {
  if (isBusy()) return false;
  cancel_ = false;
  setState(State::loading);
  emit loadRequested(dir, backend);
  return true;
}

bool InferenceController::generate(const GenerationJob& job) {
  if (isBusy() || !model_) return false;
  cancel_ = false;
  tokens_.take();  // nothing from an earlier run may leak into this one
  setState(State::generating);
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
