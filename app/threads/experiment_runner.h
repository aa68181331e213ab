#pragma once
// The Experiments panel's handle on the engine: its own worker thread (so an
// experiment never blocks the window or a generation), an atomic cancel flag
// and one run at a time.
#include <QObject>
#include <QThread>
#include <atomic>

#include "jobs/experiment_job.h"

class ExperimentWorker;

class ExperimentRunner : public QObject {
  Q_OBJECT

 public:
  explicit ExperimentRunner(QObject* parent = nullptr);
  ~ExperimentRunner() override;  // cancels, then joins the thread

  bool start(const ExperimentJob& job);  // false while a run is in flight
  void cancel() { cancel_.store(true, std::memory_order_relaxed); }
  bool isBusy() const { return busy_; }

 signals:
  void busyChanged(bool busy);
  void progress(long done, long total);
  void finished(const ExperimentResultPtr& result);
  void cancelled();
  void failed(const QString& message);

  void runRequested(const ExperimentJob& job);  // to the worker, queued

 private:
  void setBusy(bool busy);

  QThread thread_;
  std::atomic<bool> cancel_{false};
  bool busy_ = false;
};
