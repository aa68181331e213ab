#pragma once
// Runs experiments on the runner's thread: loads the job's models, runs the
// engine experiment and reports progress. Every slot is a catch boundary.
#include <QObject>
#include <atomic>

#include "jobs/experiment_job.h"

class ExperimentWorker : public QObject {
  Q_OBJECT

 public:
  explicit ExperimentWorker(const std::atomic<bool>* cancel) : cancel_(cancel) {}

 public slots:
  void run(const ExperimentJob& job);

 signals:
  void progress(long done, long total);
  void finished(const ExperimentResultPtr& result);
  void cancelled();
  void failed(const QString& message);

 private:
  const std::atomic<bool>* cancel_;
};
