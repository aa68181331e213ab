#include "threads/experiment_worker.h"

#include "analysis/experiment_models.h"
#include "threads/served_experiment.h"

using namespace moescope;

void ExperimentWorker::run(const ExperimentJob& job) {
  try {
    int lastPermille = -1;
    const WorkMeter::Callback report = [&](long done, long total) {
      const int permille = total ? static_cast<int>(1000 * done / total) : 1000;
      if (permille != lastPermille)
        emit progress(done, total);  // a few hundred signals, not one per token
      lastPermille = permille;
    };
    if (!job.server.url.isEmpty()) {
      emit finished(std::make_shared<ExperimentResult>(runServedExperiment(job, report, cancel_)));
      return;
    }
    std::vector<std::filesystem::path> dirs, files;
    for (const QString& dir : job.modelDirs) dirs.emplace_back(dir.toStdString());
    for (const QString& file : job.textFiles) files.emplace_back(file.toStdString());
    const std::vector<LoadedModel> models =
        load_models(dirs, parse_backend_choice(job.backend.toStdString()));
    emit finished(std::make_shared<ExperimentResult>(
        run_experiment(job.experiment.toStdString(), under_test(models), load_text_set(files),
                       job.settings, report, cancel_)));
  } catch (const Cancelled&) {
    emit cancelled();
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
}
