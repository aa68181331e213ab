// MainWindow's View menu and what the window says about itself: presentation
// mode, zoom, the default layout, the saved geometry on this screen, the title
// and status naming what is on screen, the switch banner beside Generate.
#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QLabel>
#include <QMenu>
#include <QScreen>
#include <QTimer>
#include <algorithm>

#include "document/routing_document.h"
#include "panels/expert_mask_panel.h"
#include "panels/prompt_panel.h"
#include "panels/switch_summary.h"
#include "threads/inference_controller.h"
#include "views/compare_view.h"
#include "views/token_text_view.h"
#include "window/main_window.h"
#include "window/screen_fit.h"

namespace {

constexpr double presentationZoom = 1.5;
constexpr double minZoom = 0.75, maxZoom = 3.0, zoomStep = 1.15;

// Black on white or white on black, as the current palette leans: readable
// from the back of a room on any projector.
QPalette highContrast(QPalette palette) {
  const bool dark = palette.color(QPalette::Window).lightness() < 128;
  const QColor ground = dark ? Qt::black : Qt::white;
  const QColor ink = dark ? Qt::white : Qt::black;
  for (auto role : {QPalette::Window, QPalette::Base, QPalette::Button})
    palette.setColor(QPalette::Active, role, ground),
        palette.setColor(QPalette::Inactive, role, ground);
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    palette.setColor(QPalette::Active, role, ink), palette.setColor(QPalette::Inactive, role, ink);
  palette.setColor(QPalette::AlternateBase,
                   dark ? QColor(0x30, 0x30, 0x30) : QColor(0xe8, 0xe8, 0xe8));
  palette.setColor(QPalette::Highlight, dark ? QColor(0xff, 0xd0, 0x00) : QColor(0x00, 0x40, 0xd0));
  palette.setColor(QPalette::HighlightedText, dark ? Qt::black : Qt::white);
  return palette;
}

}  // namespace

void MainWindow::createViewMenu() {
  presentationAction_ = viewMenu_->addAction(tr("&Presentation"));
  presentationAction_->setObjectName(QStringLiteral("presentationAction"));
  presentationAction_->setCheckable(true);
  presentationAction_->setShortcut(Qt::Key_F5);
  connect(presentationAction_, &QAction::toggled, this, &MainWindow::setPresentation);
  QAction* in = viewMenu_->addAction(tr("Zoom &in"), this, &MainWindow::zoomIn);
  in->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Equal), QKeySequence(Qt::CTRL | Qt::Key_Plus)});
  QAction* out = viewMenu_->addAction(tr("Zoom &out"), this, &MainWindow::zoomOut);
  out->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Minus));
  QAction* actual = viewMenu_->addAction(tr("&Actual size"), this, [this] { setZoom(1.0); });
  actual->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
  // The Compare window follows the zoom, and its keys work there too.
  compareView_->addActions({in, out, actual});
  viewMenu_->addAction(tr("&Reset layout"), this, &MainWindow::resetLayout)
      ->setObjectName(QStringLiteral("resetLayoutAction"));
  viewMenu_->addAction(tr("&Compare window"), this, &MainWindow::showCompare)
      ->setObjectName(QStringLiteral("showCompareAction"));
  viewMenu_->addSeparator();
  for (QDockWidget* dock : findChildren<QDockWidget*>())
    viewMenu_->addAction(dock->toggleViewAction());
}

void MainWindow::setZoom(double factor) {
  zoom_ = std::clamp(factor, minZoom, maxZoom);
  QFont font = QApplication::font();
  font.setPointSizeF(font.pointSizeF() * zoom_);
  setFont(font);  // every child without a font of its own, the plots included
}

void MainWindow::zoomIn() {
  setZoom(zoom_ * zoomStep);
}

void MainWindow::zoomOut() {
  setZoom(zoom_ / zoomStep);
}

void MainWindow::setPresentation(bool on) {
  if (on == presenting_) return;
  presenting_ = on;
  const QSignalBlocker blocker(presentationAction_);
  presentationAction_->setChecked(on);
  if (on) {
    beforePresentation_ = saveState();
    for (QDockWidget* dock : findChildren<QDockWidget*>())
      dock->setVisible(dock->objectName() == QLatin1String("inspectorDock"));
    setPalette(highContrast(QApplication::palette()));
    setZoom(presentationZoom);
    resizeDocks({findChild<QDockWidget*>(QStringLiteral("inspectorDock"))}, {width() * 2 / 5},
                Qt::Horizontal);
  } else {
    setPalette(QApplication::palette());
    setZoom(1.0);
    restoreState(beforePresentation_);
  }
  tokenView_->focusTokens();  // ← → are what a presenter presses next
}

void MainWindow::resetLayout() {
  if (presenting_) setPresentation(false);
  restoreState(defaultState_);
  for (QDockWidget* dock : findChildren<QDockWidget*>()) dock->show();
  applyDefaultDockSizes();
}

void MainWindow::applyDefaultDockSizes() {
  const auto dock = [this](const char* name) {
    return findChild<QDockWidget*>(QLatin1String(name));
  };
  // Shares of the window, so 1280×720 and 1920×1080 both leave the text room:
  // the right column a third, the heatmaps two fifths of the height.
  const int w = width(), h = height();
  resizeDocks({dock("inspectorDock"), dock("masksDock")}, {h * 55 / 100, h * 45 / 100},
              Qt::Vertical);
  resizeDocks({dock("inspectorDock")}, {w * 32 / 100}, Qt::Horizontal);
  resizeDocks({dock("loadHeatmapDock")}, {h * 40 / 100}, Qt::Vertical);
  resizeDocks({dock("loadHeatmapDock"), dock("tokenExpertDock")}, {w * 26 / 100, w * 42 / 100},
              Qt::Horizontal);
}

void MainWindow::fitToScreen() {
  const QScreen* screen = this->screen();
  if (!screen) return;
  const QRect available = screen->availableGeometry();
  const QRect frame = frameGeometry();
  const QRect fitted = ScreenFit::fitInside(frame, available);
  if (fitted == frame) return;
  const QSize decoration = frame.size() - size();
  resize(fitted.size() - decoration);
  move(fitted.topLeft());
}

void MainWindow::updateCaption() {
  onScreen_.generateModel = controller_->model() ? controller_->model()->name : QString();
  setWindowTitle(ScreenCaption::windowTitle(onScreen_));
  screenLabel_->setText(ScreenCaption::statusText(onScreen_));
  updateSwitchBanner();
}

void MainWindow::updateSwitchBanner() {
  const moescope::Interventions now = maskPanel_->interventions();
  QString note;
  // The text on screen came from other switches than Generate would use now.
  if (!document_->isEmpty() && document_->snapshot().interventions != now)
    note = tr("The text on screen was made with other switches: %1")
               .arg(SwitchSummary::describe(document_->snapshot().interventions));
  promptPanel_->setSwitchBanner(controller_->server()
                                    ? tr("all experts on (switching experts off needs the "
                                         "local engine)")
                                    : SwitchSummary::describe(now),
                                note);
}
