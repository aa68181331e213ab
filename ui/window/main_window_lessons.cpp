// MainWindow's lesson steps: set up model, prompt, sampling, expert switches
// and view as a step of resources/lessons/lessons.json asks, then run it.
#include <QDockWidget>
#include <QMessageBox>
#include <QStatusBar>
#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "document/routing_document.h"
#include "experiments/experiment_panel.h"
#include "model/default_model.h"
#include "panels/expert_mask_panel.h"
#include "panels/prompt_panel.h"
#include "run/routing_stats.h"
#include "threads/inference_controller.h"
#include "views/expert_load_heatmap.h"
#include "window/main_window.h"

using namespace moescope;

namespace {

// The n experts of each MoE layer that received the most tokens in `tokens`.
void disableMostUsed(const std::vector<SnapshotToken>& tokens, int n_experts, int n,
                     Interventions& out) {
  std::vector<TokenRouting> routing;
  for (const SnapshotToken& t : tokens) routing.push_back(t.routing);
  for (const LayerLoad& load : expert_load(routing, n_experts)) {
    std::vector<int> order(n_experts);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return load.counts[a] > load.counts[b]; });
    for (int i = 0; i < std::min(n, n_experts); ++i)
      out.disabled_experts.insert({load.layer, order[i]});
  }
}

}  // namespace

bool MainWindow::applyLessonInterventions(const LessonStep& step) {
  const ModelConfig& config = controller_->model()->config;
  Interventions interventions = step.clearMasks ? Interventions{} : maskPanel_->interventions();
  try {
    if (!step.disable.isEmpty()) parse_disabled_experts(step.disable.toStdString(), interventions);
    if (!step.disableShared.isEmpty())
      parse_disabled_shared(step.disableShared.toStdString(), interventions);
    if (step.topK > 0) interventions.top_k = step.topK;
    if (step.selectWithoutBias) interventions.select_without_bias = true;
    if (step.disableMostUsed > 0)
      disableMostUsed(document_->snapshot().tokens, config.n_routed_experts, step.disableMostUsed,
                      interventions);
    interventions.validate(config);
  } catch (const EngineError& e) {
    QMessageBox::warning(this, tr("Lesson step"), QString::fromStdString(e.what()));
    return false;
  }
  maskPanel_->setInterventions(interventions);
  return true;
}

void MainWindow::runLessonStep(const LessonStep& step) {
  if (controller_->isBusy()) {
    statusBar()->showMessage(
        tr("Wait for the current run to finish (or press Esc), then press the step again."), 8000);
    return;
  }
  const QString wanted = step.model;
  if (!wanted.isEmpty() && (!controller_->model() || controller_->model()->name != wanted)) {
    pendingLessonStep_ = step;
    openModel(QString::fromStdString(
        (default_model_dir().parent_path() / wanted.toStdString()).string()));
    return;
  }
  if (!controller_->model() && step.action != QLatin1String("experiment")) return;

  if (!step.prompt.isEmpty()) promptPanel_->setPrompt(step.prompt);
  SamplingSettings sampling = promptPanel_->samplingSettings();
  if (step.maxTokens > 0) sampling.max_tokens = step.maxTokens;
  if (step.temperature >= 0) sampling.temperature = static_cast<float>(step.temperature);
  if (step.seed >= 0) sampling.seed = static_cast<std::uint64_t>(step.seed);
  promptPanel_->setSamplingSettings(sampling);
  if (controller_->model() && !applyLessonInterventions(step)) return;

  if (auto* dock = findChild<QDockWidget*>(step.view)) {
    dock->show();
    dock->raise();
  }
  if (!step.loadMode.isEmpty()) {
    const auto mode = step.loadMode == QLatin1String("balance") ? ExpertLoadHeatmap::Mode::balance
                      : step.loadMode == QLatin1String("gate")  ? ExpertLoadHeatmap::Mode::gateShare
                                                                : ExpertLoadHeatmap::Mode::counts;
    findChild<ExpertLoadHeatmap*>()->setMode(mode);
  }
  selectLastTokenAfterRun_ = step.selectLastToken;
  if (step.action == QLatin1String("generate")) generate();
  if (step.action == QLatin1String("compare")) compareWithExpertsOff();
  if (step.action == QLatin1String("experiment")) {
    experimentPanel_->select(step.experiment, true);
    showExperiments();
    experimentPanel_->run();
  }
}
