#pragma once
// Lays out the panels and wires them to the document and the controller.
// It holds no routing logic of its own: panels read the RoutingDocument,
// the InferenceController runs the engine off the GUI thread.
#include <QFutureWatcher>
#include <QMainWindow>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "io/snapshot.h"
#include "jobs/metatypes.h"
#include "jobs/server_job.h"
#include "panels/lesson.h"
#include "window/screen_caption.h"

class CompareView;
class ExpertMaskPanel;
class ExperimentPanel;
class ExperimentRunner;
class LessonPanel;
class InferenceController;
class PromptPanel;
class QDockWidget;
class QLabel;
class QMenu;
class BackendMenu;
class QProgressBar;
class QPushButton;
class RoutingDocument;
class TokenTextView;

// Fusion style on the system palette (light or dark) and a font big enough
// to read when projected in a classroom. Call once after QApplication exists.
void applyClassroomLook();

// A snapshot file read off the GUI thread: the snapshot, or why it was refused.
using SnapshotReading = std::variant<moescope::RoutingSnapshot, std::string>;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Both work off the GUI thread and report failures in a dialog; a failed
  // load keeps the previous model, a refused snapshot the previous document.
  void openModel(const QString& dir);
  // Reads the file on a thread, then shows it: snapshotOpened(true), or the
  // dialog and snapshotOpened(false).
  void openSnapshot(const QString& path);
  // File ▸ Connect to Server without the dialog: Generate then runs on job's
  // server (off the GUI thread), and the engine-only controls say why they are off.
  void connectToServer(const ServerJob& job);

  // For main() and the screenshot test.
  RoutingDocument* document() const { return document_; }
  InferenceController* controller() const { return controller_; }
  PromptPanel* promptPanel() const { return promptPanel_; }
  ExperimentPanel* experimentPanel() const { return experimentPanel_; }
  CompareView* compareView() const { return compareView_; }
  LessonPanel* lessonPanel() const { return lessonPanel_; }
  TokenTextView* tokenView() const { return tokenView_; }
  const OnScreen& onScreen() const { return onScreen_; }
  double zoom() const { return zoom_; }
  bool isPresenting() const { return presenting_; }

 public slots:
  void generate();
  void compareWithExpertsOff();
  // View ▸ Compare: the comparison in a window of its own, which first covers the
  // main one, so that it has the whole screen at 1280×720 (main_window_compare.cpp).
  void showCompare();
  void showExperiments();  // Tools ▸ Experiments, a window of its own
  // Sets up what a lesson step asks for; a step naming another model loads it
  // first and continues once it is loaded.
  void runLessonStep(const LessonStep& step);
  // View ▸ Presentation (F5): the token text and the inspector alone, large
  // and in high contrast; off again restores the layout as it was.
  void setPresentation(bool on);
  void setZoom(double factor);  // the whole window's text and plots; 1 = normal
  void zoomIn();                // Ctrl+=
  void zoomOut();               // Ctrl+-
  void resetLayout();           // View ▸ Reset layout: the docks as on first launch

 signals:
  void snapshotOpened(bool ok);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  QDockWidget* addDock(QWidget* panel, const QString& title, const QString& objectName,
                       Qt::DockWidgetArea area);
  void createDocks();
  void applyDefaultDockSizes();
  void createMenus();
  void createViewMenu();
  void fitToScreen();               // a saved geometry larger than this screen, or off it
  void updateCaption();             // title and status bar from onScreen_
  void updateSwitchBanner();        // the switches beside Generate, and a stale-text note
  void addExportMenu(QMenu* menu);  // every plot, for screen or slides; token text, Compare
  void createStatusBar();
  void connectController();
  void connectExperiments();
  void updateRecentMenu();
  void rememberRecent(const QString& path);  // a model folder or a snapshot file
  void updateActions();
  GenerationJob makeJob(const QString& tag, bool withInterventions) const;

  void chooseModel();
  void chooseSnapshot();
  void chooseServer();  // main_window_server.cpp
  // A served model is the model: the switches, Compare and chat need the local engine.
  void showServedState(bool served);
  void saveSnapshot();
  void showSnapshot();  // the read of snapshotPath_ finished: show it or report
  bool applyLessonInterventions(const LessonStep& step);
  void onModelLoaded(const ModelSummary& summary);
  void onLoadFailed(const QString& message, bool cancelled);
  void onRunFinished(const RunStats& stats);
  void createCompareWindow();
  // After Compare's baseline, the switched run; after that, the comparison shown and kept in
  // the document (a saved snapshot holds it).
  void continueComparison(const RunStats& stats);
  void showDocumentComparison(int comparedTokenCap);

  RoutingDocument* document_;
  InferenceController* controller_;
  PromptPanel* promptPanel_;
  ExpertMaskPanel* maskPanel_;
  CompareView* compareView_;
  ExperimentPanel* experimentPanel_;
  ExperimentRunner* experimentRunner_;
  LessonPanel* lessonPanel_;
  std::optional<LessonStep> pendingLessonStep_;  // waits for its model to load
  bool selectLastTokenAfterRun_ = false;
  QDockWidget* helpDock_ = nullptr;
  QMenu* viewMenu_ = nullptr;
  QAction* presentationAction_ = nullptr;
  TokenTextView* tokenView_ = nullptr;
  OnScreen onScreen_;
  QByteArray defaultState_;        // the docks as createDocks() lays them out
  QByteArray beforePresentation_;  // the docks when presentation mode began
  bool presenting_ = false;
  bool comparePlaced_ = false;  // the Compare window was given the main one's place once
  double zoom_ = 1.0;
  QLabel* screenLabel_;          // above the tokens: what they are
  QMenu* recentMenu_ = nullptr;  // File ▸ Open Recent: models and snapshots
  BackendMenu* backendMenu_ = nullptr;
  QString loadedDir_;  // the model Generate uses; reloaded when the backend changes
  QAction* saveSnapshotAction_ = nullptr;
  QAction* openSnapshotAction_ = nullptr;
  QFutureWatcher<SnapshotReading>* snapshotReader_;
  QString snapshotPath_;  // the file snapshotReader_ reads
  QLabel* backendLabel_;
  QLabel* modelLabel_;
  QLabel* speedLabel_;
  QProgressBar* loadProgress_;
  QPushButton* cancelLoadButton_;
  // The all-experts-on run of a comparison, kept until its intervened twin ends.
  std::vector<moescope::SnapshotToken> baselineTokens_;
  bool newChatPending_ = true;  // the next chat turn starts a new conversation
};
