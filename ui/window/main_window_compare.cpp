// "Compare with experts off": the baseline run, then the switched one with the same
// seed, then the comparison in its own window. The comparison is kept in the
// document, so a saved snapshot brings it back without the model.
#include <QShortcut>
#include <QStatusBar>

#include "document/routing_document.h"
#include "panels/expert_mask_panel.h"
#include "panels/switch_summary.h"
#include "threads/inference_controller.h"
#include "views/compare_view.h"
#include "window/main_window.h"

void MainWindow::createCompareWindow() {
  compareView_->setParent(this, Qt::Window);
  compareView_->setWindowTitle(tr("moescope — Compare"));
  compareView_->setAttribute(Qt::WA_WindowPropagation);  // zoom and presentation colours
  auto* close = new QShortcut(QKeySequence(Qt::Key_Escape), compareView_);
  connect(close, &QShortcut::activated, compareView_, &QWidget::close);
}

void MainWindow::showCompare() {
  if (!compareView_->isVisible() && !comparePlaced_) {
    compareView_->setGeometry(geometry());
    comparePlaced_ = true;
  }
  compareView_->show();
  compareView_->raise();
  compareView_->activateWindow();
}

void MainWindow::compareWithExpertsOff() {
  baselineTokens_.clear();
  if (controller_->server()) {
    statusBar()->showMessage(tr("Compare with experts off needs the local engine"), 8000);
    return;
  }
  if (maskPanel_->interventions().empty()) {  // both runs would be the same one
    compareView_->showNothingSwitchedOff();
    showCompare();
    return;
  }
  // Baseline first; continueComparison starts the switched run with the same seed.
  GenerationJob job = makeJob(QStringLiteral("baseline"), false);
  job.compareRole = GenerationJob::CompareRole::baseline;
  controller_->generate(job);
}

void MainWindow::continueComparison(const RunStats& stats) {
  if (stats.tag == QLatin1String("baseline")) {
    baselineTokens_ = document_->snapshot().tokens;
    GenerationJob job = makeJob(QStringLiteral("intervened"), true);
    job.compareRole = GenerationJob::CompareRole::intervened;
    controller_->generate(job);
  } else if (stats.tag == QLatin1String("intervened")) {
    document_->setComparison(
        {std::exchange(baselineTokens_, {}),
         std::vector<double>(stats.nextTokenKl.begin(), stats.nextTokenKl.end())});
    showDocumentComparison(stats.comparedTokenCap);
  }
}

void MainWindow::showDocumentComparison(int comparedTokenCap) {
  const moescope::RoutingSnapshot& snapshot = document_->snapshot();
  if (!snapshot.comparison) return;
  CompareView::Comparison comparison;
  comparison.baseline = snapshot.comparison->baseline_tokens;
  comparison.intervened = snapshot.tokens;
  comparison.interventions = snapshot.interventions;
  comparison.interventionText = SwitchSummary::describe(snapshot.interventions);
  comparison.nextTokenKl = QVector<double>(snapshot.comparison->next_token_kl.begin(),
                                           snapshot.comparison->next_token_kl.end());
  comparison.comparedTokenCap = comparedTokenCap;
  comparison.moeLayers = document_->moeLayers();
  comparison.experts = document_->config().n_routed_experts;
  compareView_->showComparison(comparison);
  showCompare();
}
