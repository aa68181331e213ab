#include "threads/served_experiment.h"

#include <filesystem>

#include "threads/served_connection.h"
#ifdef MOESCOPE_WITH_REMOTE
#include "remote/served_routing_source.h"
#endif

namespace fs = std::filesystem;

moescope::ExperimentResult runServedExperiment(
    [[maybe_unused]] const ExperimentJob& job,
    [[maybe_unused]] const moescope::WorkMeter::Callback& progress,
    [[maybe_unused]] const std::atomic<bool>* cancel) {
#ifdef MOESCOPE_WITH_REMOTE
  const moescope::ServedModel model = servedModelOf(job.server);
  moescope::ServedRoutingSource source(
      connectionOf(job.server), model,
      job.requestsPerSecond > 0 ? 1.0 / job.requestsPerSecond : 0.0, cancel);
  std::vector<fs::path> files;
  for (const QString& file : job.textFiles) files.emplace_back(file.toStdString());
  return moescope::run_routing_experiment(job.experiment.toStdString(), {&source},
                                          moescope::load_text_set(files), job.settings, progress,
                                          cancel);
#else
  throwWithoutLibcurl();
#endif
}
