#include "window/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyleFactory>
#include <QTimer>
#include <QVBoxLayout>

#include "core/error.h"
#include "document/routing_document.h"
#include "experiments/experiment_panel.h"
#include "export/plot_export.h"
#include "export/widget_export.h"
#include "panels/expert_mask_panel.h"
#include "panels/help_panel.h"
#include "panels/lesson_panel.h"
#include "panels/prompt_panel.h"
#include "panels/switch_summary.h"
#include "threads/experiment_runner.h"
#include "threads/inference_controller.h"
#include "views/compare_view.h"
#include "views/expert_load_heatmap.h"
#include "views/start_card.h"
#include "views/token_expert_heatmap.h"
#include "views/token_inspector.h"
#include "views/token_text_view.h"
#include "window/backend_menu.h"
#include "window/dialog_folders.h"
#include "window/status_field.h"
#include "window/status_texts.h"

namespace {
constexpr int maxRecentEntries = 10;  // model folders and snapshot files
const auto recentKey = QStringLiteral("recentModels");
const auto geometryKey = QStringLiteral("window/geometry");
const auto stateKey = QStringLiteral("window/state");
const auto experimentsGeometryKey = QStringLiteral("experiments/geometry");
}  // namespace

void applyClassroomLook() {
  QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  QFont font = QApplication::font();
  font.setPointSizeF(std::max(font.pointSizeF(), 12.0));
  QApplication::setFont(font);
}

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      document_(new RoutingDocument(this)),
      controller_(new InferenceController(document_, this)),
      promptPanel_(new PromptPanel),
      maskPanel_(new ExpertMaskPanel),
      compareView_(new CompareView),
      experimentPanel_(new ExperimentPanel),
      experimentRunner_(new ExperimentRunner(this)),
      lessonPanel_(new LessonPanel),
      snapshotReader_(new QFutureWatcher<SnapshotReading>(this)),
      backendLabel_(new StatusField(tr("No model"))),
      modelLabel_(new StatusField),
      speedLabel_(new StatusField),
      screenLabel_(new QLabel),
      loadProgress_(new QProgressBar),
      cancelLoadButton_(new QPushButton(tr("Cancel"))) {
  // Central area: the prompt above the text it produced, tokens clickable.
  // Above the tokens, what they are: a live run of a model or a snapshot.
  auto* central = new QSplitter(Qt::Vertical);
  tokenView_ = new TokenTextView(document_);
  auto* shown = new QWidget;
  auto* shownLayout = new QVBoxLayout(shown);
  shownLayout->setContentsMargins(0, 0, 0, 0);
  shownLayout->addWidget(screenLabel_);
  shownLayout->addWidget(tokenView_, 1);
  central->addWidget(promptPanel_);
  central->addWidget(shown);
  central->setStretchFactor(1, 1);
  central->setSizes({130, 400});  // a few prompt lines; the rest for the tokens
  setCentralWidget(central);

  createDocks();
  createCompareWindow();
  defaultState_ = saveState();
  createMenus();
  createStatusBar();
  connectController();
  connectExperiments();
  connect(snapshotReader_, &QFutureWatcher<SnapshotReading>::finished, this,
          &MainWindow::showSnapshot);
  connect(promptPanel_, &PromptPanel::generateRequested, this, &MainWindow::generate);
  connect(promptPanel_, &PromptPanel::compareRequested, this, &MainWindow::compareWithExpertsOff);
  connect(promptPanel_, &PromptPanel::stopRequested, controller_, &InferenceController::cancel);
  connect(lessonPanel_, &LessonPanel::stepRequested, this, &MainWindow::runLessonStep);
  connect(promptPanel_, &PromptPanel::newChatRequested, this, [this] { newChatPending_ = true; });
  connect(maskPanel_, &ExpertMaskPanel::interventionsChanged, this,
          &MainWindow::updateSwitchBanner);
  connect(document_, &RoutingDocument::documentReset, this, &MainWindow::updateSwitchBanner);
  connect(promptPanel_, &PromptPanel::paceChanged, this, [this] {
    const auto pace = promptPanel_->pace();
    controller_->setPace(pace == PromptPanel::Pace::step        ? TokenPacer::Mode::step
                         : pace == PromptPanel::Pace::perSecond ? TokenPacer::Mode::perSecond
                                                                : TokenPacer::Mode::live,
                         promptPanel_->paceTokensPerSecond());
  });
  connect(tokenView_, &TokenTextView::stepRequested, controller_, &InferenceController::stepToken);
  // First launch: the start card leads to Lesson 1 or runs an example prompt.
  connect(tokenView_->startCard(), &StartCard::lessonRequested, this, [this] {
    lessonPanel_->showLesson(0);
    lessonPanel_->parentWidget()->show();
    lessonPanel_->parentWidget()->raise();
  });
  connect(tokenView_->startCard(), &StartCard::promptChosen, this, [this](const QString& prompt) {
    promptPanel_->setPrompt(prompt);
    if (controller_->model() && !controller_->isBusy()) generate();
  });
  // A paced run's newest token is the one to look at: the inspector follows it.
  connect(document_, &RoutingDocument::tokensAppended, this, [this] {
    if (controller_->pace() != TokenPacer::Mode::live && controller_->isBusy())
      document_->setSelectedToken(document_->tokenCount() - 1);
  });

  QSettings settings;
  if (restoreGeometry(settings.value(geometryKey).toByteArray())) fitToScreen();
  // Default sizes only make sense once the window has its size: after show().
  if (!restoreState(settings.value(stateKey).toByteArray()))
    QTimer::singleShot(0, this, &MainWindow::applyDefaultDockSizes);
  updateRecentMenu();
  updateActions();
  updateCaption();
}

MainWindow::~MainWindow() = default;

QDockWidget* MainWindow::addDock(QWidget* panel, const QString& title, const QString& objectName,
                                 Qt::DockWidgetArea area) {
  auto* dock = new QDockWidget(title, this);
  dock->setObjectName(objectName);  // restoreState finds docks by name
  dock->setWidget(panel);
  addDockWidget(area, dock);
  return dock;
}

void MainWindow::createDocks() {
  setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);  // right column: full height
  auto* inspector = addDock(new TokenInspector(document_), tr("Token inspector"),
                            QStringLiteral("inspectorDock"), Qt::RightDockWidgetArea);
  // The grid of 64 switches scrolls rather than squeezing the inspector at 720 px.
  auto* maskScroll = new QScrollArea;
  maskScroll->setWidget(maskPanel_);
  maskScroll->setWidgetResizable(true);
  maskScroll->setFrameShape(QFrame::NoFrame);
  auto* masks = addDock(maskScroll, tr("Expert switches"), QStringLiteral("masksDock"),
                        Qt::RightDockWidgetArea);
  helpDock_ = addDock(new HelpPanel, tr("What am I looking at?"), QStringLiteral("helpDock"),
                      Qt::RightDockWidgetArea);
  auto* load = addDock(new ExpertLoadHeatmap(document_), tr("Expert load"),
                       QStringLiteral("loadHeatmapDock"), Qt::BottomDockWidgetArea);
  auto* tokenExpert = addDock(new TokenExpertHeatmap(document_), tr("Token × expert"),
                              QStringLiteral("tokenExpertDock"), Qt::BottomDockWidgetArea);
  splitDockWidget(load, tokenExpert, Qt::Horizontal);
  splitDockWidget(inspector, masks, Qt::Vertical);
  tabifyDockWidget(masks, helpDock_);
  tabifyDockWidget(helpDock_, addDock(lessonPanel_, tr("Lessons"), QStringLiteral("lessonsDock"),
                                      Qt::RightDockWidgetArea));
  masks->raise();
}

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &Model…"), QKeySequence::Open, this, &MainWindow::chooseModel);
  recentMenu_ = file->addMenu(tr("Open &Recent"));
  recentMenu_->setObjectName(QStringLiteral("recentMenu"));
  openSnapshotAction_ = file->addAction(tr("Open S&napshot…"), this, &MainWindow::chooseSnapshot);
  file->addAction(tr("Connect to Se&rver…"), this, &MainWindow::chooseServer)
      ->setObjectName(QStringLiteral("connectServerAction"));
  saveSnapshotAction_ =
      file->addAction(tr("&Save Snapshot…"), QKeySequence::Save, this, &MainWindow::saveSnapshot);
  file->addSeparator();
  addExportMenu(file->addMenu(tr("&Export")));
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  // Window-wide shortcuts that work while typing in the prompt.
  auto* generateAction = new QAction(tr("Generate"), this);
  generateAction->setShortcuts(
      {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
  connect(generateAction, &QAction::triggered, this, &MainWindow::generate);
  auto* stopAction = new QAction(tr("Stop"), this);
  stopAction->setShortcut(Qt::Key_Escape);
  connect(stopAction, &QAction::triggered, controller_, &InferenceController::cancel);
  addActions({generateAction, stopAction});

  viewMenu_ = menuBar()->addMenu(tr("&View"));
  createViewMenu();

  QMenu* tools = menuBar()->addMenu(tr("&Tools"));
  tools->addAction(tr("&Experiments…"), QKeySequence(Qt::CTRL | Qt::Key_E), this,
                   &MainWindow::showExperiments);
  backendMenu_ = new BackendMenu(tools);
  tools->addMenu(backendMenu_);
  connect(backendMenu_, &BackendMenu::chosen, this, [this] {
    if (!loadedDir_.isEmpty()) openModel(loadedDir_);
  });

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&What am I looking at?"), QKeySequence::HelpContents, this, [this] {
    helpDock_->show();
    helpDock_->raise();
  });
  help->addAction(tr("&Lessons"), QKeySequence(Qt::CTRL | Qt::Key_L), this, [this] {
    lessonPanel_->parentWidget()->show();
    lessonPanel_->parentWidget()->raise();
  });
}

void MainWindow::addExportMenu(QMenu* menu) {
  // Each plot panel owns its ExportActions; the menu offers them by panel title.
  std::vector<std::pair<QString, QWidget*>> panels;
  for (QDockWidget* dock : findChildren<QDockWidget*>())
    panels.emplace_back(dock->windowTitle(), dock->widget());
  panels.emplace_back(tr("Compare"), compareView_);
  for (const auto& [title, panel] : panels) {
    const auto exporters = panel->findChildren<ExportActions*>();
    if (exporters.isEmpty()) continue;
    QMenu* panelMenu = menu->addMenu(title);
    for (ExportActions* exporter : exporters) {
      panelMenu->addAction(exporter->plotAction());
      panelMenu->addAction(exporter->slideAction());
      if (exporter->tableAction()) panelMenu->addAction(exporter->tableAction());
    }
  }
  // Views that are not plots, as pictures for slides.
  menu->addSeparator();
  menu->addAction(tr("Token text as picture…"), this,
                  [this] {
                    WidgetExport::saveWithDialog(tokenView_->canvas(), tr("Export token text"),
                                                 this);
                  })
      ->setObjectName(QStringLiteral("exportTokenTextAction"));
  menu->addAction(
          tr("Compare view as picture…"), this,
          [this] { WidgetExport::saveWithDialog(compareView_, tr("Export Compare view"), this); })
      ->setObjectName(QStringLiteral("exportCompareAction"));
}

void MainWindow::createStatusBar() {
  loadProgress_->setMaximumWidth(220);
  loadProgress_->setFormat(tr("Loading %p%"));
  loadProgress_->hide();
  cancelLoadButton_->hide();
  connect(cancelLoadButton_, &QPushButton::clicked, controller_, &InferenceController::cancel);
  for (QLabel* label : {screenLabel_, modelLabel_, speedLabel_, backendLabel_})
    label->setContentsMargins(8, 0, 16, 0);
  screenLabel_->setObjectName(QStringLiteral("screenLabel"));
  screenLabel_->setWordWrap(true);  // a long line wraps; it must not widen the window past 1280
  QFont bold = screenLabel_->font();
  bold.setBold(true);
  screenLabel_->setFont(bold);
  speedLabel_->setObjectName(QStringLiteral("speedLabel"));
  modelLabel_->setObjectName(QStringLiteral("modelLabel"));
  backendLabel_->setObjectName(QStringLiteral("backendLabel"));
  // StatusFields shrink and elide rather than run off a 1280-pixel window.
  statusBar()->addWidget(modelLabel_);
  statusBar()->addWidget(speedLabel_, 1);
  statusBar()->addPermanentWidget(loadProgress_);
  statusBar()->addPermanentWidget(cancelLoadButton_);
  statusBar()->addPermanentWidget(backendLabel_);
}

void MainWindow::connectController() {
  connect(controller_, &InferenceController::busyChanged, this, [this](bool) {
    const bool loading = controller_->isLoading();
    loadProgress_->setVisible(loading);
    cancelLoadButton_->setVisible(loading);
    if (loading) loadProgress_->setValue(0);
    updateActions();
  });
  connect(controller_, &InferenceController::loadProgress, this, [this](int done, int total) {
    loadProgress_->setRange(0, total);
    loadProgress_->setValue(done);
  });
  connect(controller_, &InferenceController::modelLoaded, this, &MainWindow::onModelLoaded);
  connect(controller_, &InferenceController::loadFailed, this, &MainWindow::onLoadFailed);
  connect(controller_, &InferenceController::runStarted, this, [this](const QString& tag) {
    speedLabel_->setText(tag == QLatin1String("baseline") ? tr("Generating (all experts on)…")
                                                          : tr("Generating…"));
    onScreen_ = {OnScreen::Kind::liveRun, controller_->model()->name, {}, {}};
    updateCaption();
  });
  connect(controller_, &InferenceController::runFinished, this, &MainWindow::onRunFinished);
  // A served run's text as the server streams it; its tokens follow with their routing.
  connect(controller_, &InferenceController::servedTextArrived, this, [this](const QString& text) {
    speedLabel_->setText(tr("The server sent: …%1").arg(text.right(60).simplified()));
  });
  connect(controller_, &InferenceController::runFailed, this, [this](const QString& message) {
    baselineTokens_.clear();
    speedLabel_->clear();
    QMessageBox::warning(this, tr("Generation failed"), StatusTexts::plainError(message));
  });
}

void MainWindow::openModel(const QString& dir) {
  if (QFileInfo(dir).isDir() && !QFileInfo::exists(QDir(dir).filePath("config.json"))) {
    QMessageBox::warning(this, tr("Not a model folder"),
                         tr("%1 is not a model folder: it has no config.json.\n\nChoose the "
                            "folder of a Hugging Face model (config.json, *.safetensors and the "
                            "tokenizer files).")
                             .arg(QDir::toNativeSeparators(dir)));
    return;
  }
  if (controller_->loadModel(dir, backendMenu_->choice()))
    statusBar()->showMessage(tr("Loading %1…").arg(dir));
}

GenerationJob MainWindow::makeJob(const QString& tag, bool withInterventions) const {
  GenerationJob job;
  job.prompt = promptPanel_->prompt();
  job.sampling = promptPanel_->samplingSettings();
  if (withInterventions) job.interventions = maskPanel_->interventions();
  job.tag = tag;
  return job;
}

void MainWindow::generate() {
  baselineTokens_.clear();
  compareView_->close();  // its comparison was of the text this run replaces
  GenerationJob job = makeJob(QStringLiteral("run"), true);
  job.chat = promptPanel_->chatMode();
  job.newChat = job.chat && newChatPending_;
  job.systemPrompt = promptPanel_->systemPrompt();
  if (controller_->generate(job) && job.chat) newChatPending_ = false;
}

void MainWindow::onRunFinished(const RunStats& stats) {
  speedLabel_->setText(StatusTexts::runFinished(
      stats, controller_->model() ? controller_->model()->config.max_position_embeddings : 0));
  const bool cancelled = stats.stopReason == QLatin1String("cancelled");
  if (std::exchange(selectLastTokenAfterRun_, false) && document_->tokenCount() > 0)
    document_->setSelectedToken(document_->tokenCount() - 1);
  if (stats.chat) {
    speedLabel_->setText(speedLabel_->text() +
                         tr(" · chat: %1 tokens kept in the KV cache").arg(stats.reusedTokens));
    if (!cancelled) promptPanel_->setPrompt({});  // ready for the next message
  }
  if (!cancelled) continueComparison(stats);
}

void MainWindow::showExperiments() {
  experimentPanel_->show();
  experimentPanel_->raise();
  experimentPanel_->activateWindow();
}

void MainWindow::connectExperiments() {
  // A window of its own: the papers' plots need more room than a dock has.
  experimentPanel_->setParent(this, Qt::Window);
  experimentPanel_->setWindowTitle(tr("moescope — Experiments"));
  experimentPanel_->restoreGeometry(QSettings().value(experimentsGeometryKey).toByteArray());
  if (experimentPanel_->size().width() < 800) experimentPanel_->resize(1400, 860);
  // Experiments run on the backend the window's menu names.
  connect(experimentPanel_, &ExperimentPanel::runRequested, this, [this](ExperimentJob job) {
    job.backend = backendMenu_->choice();
    experimentRunner_->start(job);
  });
  connect(experimentPanel_, &ExperimentPanel::cancelRequested, experimentRunner_,
          &ExperimentRunner::cancel);
  connect(experimentRunner_, &ExperimentRunner::busyChanged, experimentPanel_,
          &ExperimentPanel::setBusy);
  connect(experimentRunner_, &ExperimentRunner::progress, experimentPanel_,
          &ExperimentPanel::showProgress);
  connect(experimentRunner_, &ExperimentRunner::finished, experimentPanel_,
          &ExperimentPanel::showResult);
  connect(experimentRunner_, &ExperimentRunner::cancelled, experimentPanel_,
          &ExperimentPanel::showCancelled);
  connect(experimentRunner_, &ExperimentRunner::failed, experimentPanel_,
          &ExperimentPanel::showError);
}

void MainWindow::onModelLoaded(const ModelSummary& summary) {
  statusBar()->clearMessage();
  if (controller_->server()) {
    modelLabel_->setText(summary.name);
    modelLabel_->setToolTip(summary.dir);
    backendLabel_->setText(tr("Served"));
    backendLabel_->setToolTip(summary.backendReason);
    loadedDir_.clear();  // a backend chosen in Tools reloads no served model
    maskPanel_->setModelConfig(summary.config);
    showServedState(true);  // after the switches took the model, which enables them
    promptPanel_->setContextLength(summary.config.max_position_embeddings);
    experimentPanel_->setServedModel(*controller_->server(), summary.name);
    updateCaption();
    updateActions();
    return;
  }
  modelLabel_->setText(tr("%1 · %2 M params (%3 M active)")
                           .arg(summary.name)
                           .arg(summary.totalParameters / 1e6, 0, 'f', 1)
                           .arg(summary.activeParameters / 1e6, 0, 'f', 1));
  QStringList unknown;
  for (const std::string& key : summary.config.unrecognised_keys)
    unknown << QString::fromStdString(key);
  modelLabel_->setToolTip(unknown.isEmpty()
                              ? QString()
                              : tr("config.json keys not understood (loaded as if absent): %1")
                                    .arg(unknown.join(", ")));
  if (!unknown.isEmpty())
    modelLabel_->setText(modelLabel_->text() +
                         tr(" · %n config key(s) not understood", "", unknown.size()));
  // Automatic: the backend alone, why in the tooltip (room at 1280 px); a
  // backend asked for by name and not got says why in the bar itself.
  backendLabel_->setText(backendMenu_->choice() == QLatin1String("auto")
                             ? summary.backendName
                             : backendStatusText(summary.backendName, summary.backendReason));
  backendLabel_->setToolTip(summary.backendReason);
  loadedDir_ = summary.dir;
  maskPanel_->setModelConfig(summary.config);
  showServedState(false);
  promptPanel_->setContextLength(summary.config.max_position_embeddings);
  updateCaption();
  promptPanel_->setChatAvailable(summary.hasChatTemplate, summary.chatTemplateProblem);
  newChatPending_ = true;  // the worker's conversation went with the old model
  experimentPanel_->setCurrentModel(summary.dir, summary.name);
  rememberRecent(summary.dir);
  updateActions();
  if (pendingLessonStep_) runLessonStep(*std::exchange(pendingLessonStep_, std::nullopt));
}

void MainWindow::onLoadFailed(const QString& message, bool cancelled) {
  pendingLessonStep_.reset();
  if (cancelled) {
    statusBar()->showMessage(tr("Loading cancelled"), 5000);
    return;
  }
  statusBar()->clearMessage();
  const QString keeps = controller_->model()
                            ? tr("\n\n%1 is still loaded.").arg(controller_->model()->name)
                            : QString();
  QMessageBox::warning(this, tr("Cannot load model"), StatusTexts::plainError(message) + keeps);
}

void MainWindow::chooseModel() {
  const QString dir = QFileDialog::getExistingDirectory(
      this, tr("Open model directory"), DialogFolders::start(DialogFolders::Kind::model));
  if (dir.isEmpty()) return;
  DialogFolders::remember(DialogFolders::Kind::model, QFileInfo(dir).absolutePath());
  openModel(dir);
}

void MainWindow::rememberRecent(const QString& path) {
  QSettings settings;
  QStringList recent = settings.value(recentKey).toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  settings.setValue(recentKey, recent.mid(0, maxRecentEntries));
  updateRecentMenu();
}

void MainWindow::updateRecentMenu() {
  // Model folders and snapshot files in one list, newest first.
  recentMenu_->clear();
  const QStringList recent = QSettings().value(recentKey).toStringList();
  for (const QString& path : recent) {
    if (QFileInfo(path).isDir() || !QFileInfo::exists(path)) {
      recentMenu_->addAction(tr("Model: %1").arg(path), this, [this, path] { openModel(path); });
    } else {
      recentMenu_->addAction(tr("Snapshot: %1").arg(path), this,
                             [this, path] { openSnapshot(path); });
    }
  }
  recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::updateActions() {
  // Reading a snapshot counts as busy: a run would race the document it replaces.
  const bool busy = controller_->isBusy() || snapshotReader_->isRunning();
  promptPanel_->setState(controller_->model().has_value(), busy);
  saveSnapshotAction_->setEnabled(!busy);
  openSnapshotAction_->setEnabled(!snapshotReader_->isRunning());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  controller_->cancel();  // the controller joins its thread when destroyed
  experimentRunner_->cancel();
  QSettings settings;
  settings.setValue(geometryKey, saveGeometry());
  settings.setValue(stateKey, saveState());
  settings.setValue(experimentsGeometryKey, experimentPanel_->saveGeometry());
  experimentPanel_->close();
  compareView_->close();
  event->accept();
}
