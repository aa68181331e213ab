// File ▸ Connect to Server: a model served by vLLM or SGLang becomes the model
// Generate uses; the controls that need the local engine say so and are off.
#include <QDockWidget>
#include <QMessageBox>
#include <QStatusBar>

#include "panels/expert_mask_panel.h"
#include "panels/prompt_panel.h"
#include "threads/inference_controller.h"
#include "window/main_window.h"
#include "window/server_dialog.h"

void MainWindow::chooseServer() {
  ServerDialog dialog(this);
  if (controller_->server()) dialog.setJob(*controller_->server());
  if (dialog.exec() != QDialog::Accepted) return;
  if (!dialog.keyWarning().isEmpty())
    QMessageBox::warning(this, tr("API key not in a keyring"), dialog.keyWarning());
  connectToServer(dialog.job());
}

void MainWindow::connectToServer(const ServerJob& job) {
  if (controller_->connectServer(job))
    statusBar()->showMessage(tr("Connecting to %1 at %2…").arg(job.model, job.url));
}

void MainWindow::showServedState(bool served) {
  const QString why = tr("switching experts off needs the local engine");
  maskPanel_->setEnabled(!served);
  maskPanel_->setToolTip(served ? why : QString());
  if (auto* dock = findChild<QDockWidget*>(QStringLiteral("masksDock")))
    dock->setWindowTitle(served ? tr("Expert switches (%1)").arg(why) : tr("Expert switches"));
  if (served) promptPanel_->setChatAvailable(false, tr("chat mode needs the local engine"));
}
