// Opening and saving routing snapshots. A big snapshot (a long deepseek-moe-16b
// run) takes seconds to parse, so it is read on a pool thread and shown when
// ready; the window keeps its document until then, and keeps it if the file is refused.
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>

#include "document/routing_document.h"
#include "panels/expert_mask_panel.h"
#include "panels/prompt_panel.h"
#include "threads/inference_controller.h"
#include "views/compare_view.h"
#include "window/dialog_folders.h"
#include "window/main_window.h"
#include "window/status_texts.h"

namespace {

SnapshotReading readSnapshotFile(const std::string& path) {
  try {
    return moescope::read_snapshot(path);
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

}  // namespace

void MainWindow::chooseSnapshot() {
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open routing snapshot"), DialogFolders::start(DialogFolders::Kind::snapshot),
      tr("Routing snapshots (*.json)"));
  if (path.isEmpty()) return;
  DialogFolders::remember(DialogFolders::Kind::snapshot, path);
  openSnapshot(path);
}

void MainWindow::openSnapshot(const QString& path) {
  if (snapshotReader_->isRunning()) return;  // the action is disabled meanwhile
  if (controller_->isBusy() && !controller_->isLoading()) {
    QMessageBox::information(this, tr("Generation running"),
                             tr("Stop the current run (Esc) before opening a snapshot."));
    emit snapshotOpened(false);
    return;
  }
  statusBar()->showMessage(tr("Reading snapshot %1…").arg(path));
  snapshotPath_ = path;
  snapshotReader_->setFuture(QtConcurrent::run(readSnapshotFile, path.toStdString()));
  updateActions();
}

void MainWindow::showSnapshot() {
  const QString path = snapshotPath_;
  QFuture<SnapshotReading> future = snapshotReader_->future();
  SnapshotReading reading = future.takeResult();  // moved out: a big snapshot is not copied
  updateActions();
  if (auto* error = std::get_if<std::string>(&reading)) {
    statusBar()->clearMessage();
    QMessageBox::warning(this, tr("Cannot open snapshot"),
                         StatusTexts::plainError(QString::fromUtf8(error->c_str())));
    emit snapshotOpened(false);
    return;
  }
  auto& snapshot = std::get<moescope::RoutingSnapshot>(reading);
  const moescope::Interventions interventions = snapshot.interventions;
  const QString model = QString::fromStdString(snapshot.model_name);
  promptPanel_->setPrompt(QString::fromStdString(snapshot.prompt));
  promptPanel_->setSamplingSettings(snapshot.sampling);
  document_->reset(std::move(snapshot));
  // The switches belong to the model Generate uses: a snapshot of that model
  // brings its switches, one of another model leaves them alone (its 16
  // experts mean nothing to a loaded 64-expert model). With no model loaded
  // they show the snapshot's, for reading.
  if (!controller_->model()) {
    maskPanel_->setModelConfig(document_->config());
    maskPanel_->setInterventions(interventions);
  } else if (controller_->model()->name == model) {
    try {
      interventions.validate(controller_->model()->config);
      maskPanel_->setInterventions(interventions);
    } catch (const std::exception&) {  // the same name, another shape: keep the switches
    }
  }
  onScreen_ = {OnScreen::Kind::snapshot, model, QFileInfo(path).fileName(), {}};
  updateCaption();
  speedLabel_->setText(tr("Snapshot: %1 tokens").arg(document_->tokenCount()));
  if (document_->snapshot().comparison)
    showDocumentComparison(int(document_->snapshot().comparison->next_token_kl.size()));
  else
    compareView_->close();  // it showed the document this one replaces
  statusBar()->showMessage(tr("Opened snapshot %1").arg(path), 5000);
  rememberRecent(QFileInfo(path).absoluteFilePath());
  emit snapshotOpened(true);
}

void MainWindow::saveSnapshot() {
  if (document_->isEmpty()) {
    QMessageBox::information(this, tr("Nothing to save"), tr("Generate some text first."));
    return;
  }
  QString path = QFileDialog::getSaveFileName(
      this, tr("Save routing snapshot"),
      QDir(DialogFolders::start(DialogFolders::Kind::snapshot)).filePath("routing.json"),
      tr("Routing snapshots (*.json)"));
  if (path.isEmpty()) return;
  DialogFolders::remember(DialogFolders::Kind::snapshot, path);
  if (!path.endsWith(QLatin1String(".json"))) path += QLatin1String(".json");
  try {
    moescope::write_snapshot(document_->snapshot(), path.toStdString());  // atomic rename
    statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
    rememberRecent(QFileInfo(path).absoluteFilePath());
  } catch (const std::exception& e) {
    QMessageBox::warning(this, tr("Cannot save snapshot"), QString::fromUtf8(e.what()));
  }
}
