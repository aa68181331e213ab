#include "threads/experiment_runner.h"

#include "threads/experiment_worker.h"

ExperimentRunner::ExperimentRunner(QObject* parent) : QObject(parent) {
  qRegisterMetaType<ExperimentJob>();
  qRegisterMetaType<ExperimentResultPtr>();
  auto* worker = new ExperimentWorker(&cancel_);
  worker->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker, &QObject::deleteLater);
  connect(this, &ExperimentRunner::runRequested, worker, &ExperimentWorker::run);
  connect(worker, &ExperimentWorker::progress, this, &ExperimentRunner::progress);
  connect(worker, &ExperimentWorker::finished, this, [this](const ExperimentResultPtr& result) {
    setBusy(false);
    emit finished(result);
  });
  connect(worker, &ExperimentWorker::cancelled, this, [this] {
    setBusy(false);
    emit cancelled();
  });
  connect(worker, &ExperimentWorker::failed, this, [this](const QString& message) {
    setBusy(false);
    emit failed(message);
  });
  thread_.setObjectName(QStringLiteral("experiments"));
  thread_.start();
}

ExperimentRunner::~ExperimentRunner() {
  cancel();
  thread_.quit();
  thread_.wait();
}

bool ExperimentRunner::start(const ExperimentJob& job) {
  if (busy_) return false;
  cancel_.store(false, std::memory_order_relaxed);
  setBusy(true);
  emit runRequested(job);
  return true;
}

void ExperimentRunner::setBusy(bool busy) {
  if (busy_ == busy) return;
  busy_ = busy;
  emit busyChanged(busy);
}
