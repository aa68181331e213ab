// The window in a classroom: it always says what is on screen and what
// Generate uses, every panel follows the model Generate uses; presentation
// mode, zoom, the default layout, a saved geometry on a smaller screen; step
// mode and the arrow keys; the switch banner; plain messages for a folder
// that is not a model and for a broken file.
#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "document/routing_document.h"
#include "panels/expert_mask_panel.h"
#include "panels/prompt_panel.h"
#include "plots/heatmap_plot.h"
#include "threads/inference_controller.h"
#include "ui/window/window_steps.h"
#include "views/token_text_view.h"
#include "window/dialog_folders.h"
#include "window/main_window.h"
#include "window/screen_fit.h"
#include "window/status_texts.h"

namespace {

const QString bundled = QStringLiteral(MOESCOPE_RESOURCES_DIR "/models/");
const QString fixture = QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32");
constexpr int timeoutMs = 120000;

using window_steps::generate;
using window_steps::load;

bool openSnapshot(MainWindow& window, const QString& path) {
  QSignalSpy opened(&window, &MainWindow::snapshotOpened);
  window.openSnapshot(path);
  return (!opened.isEmpty() || opened.wait(timeoutMs)) && opened.first().first().toBool();
}

// Answers the next message boxes, keeping the last text shown.
struct DialogCatcher {
  QString text;
  QTimer timer;
  DialogCatcher() {
    QObject::connect(&timer, &QTimer::timeout, [this] {
      if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
        text = box->text();
        box->accept();
      }
    });
    timer.start(20);
  }
};

QString labelText(MainWindow& window, const char* name) {
  auto* label = window.findChild<QLabel*>(QLatin1String(name));
  return label ? label->text() : QStringLiteral("<no %1>").arg(name);
}

}  // namespace

class TestClassroom : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("moescope-test"));
    QApplication::setApplicationName(QStringLiteral("moescope-classroom"));
    QSettings().clear();
    applyClassroomLook();
  }
  void init() { QSettings().clear(); }

  // A gshard-tiny snapshot opened while deepseekmoe-tiny is loaded: the switches stay
  // the loaded model's (64 experts and the shared toggle), the title says both, the
  // status bar drops the last run's speed; the next run is named as a live run.
  void panelsFollowTheModelGenerateUses() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("gshard.json"));
    {
      MainWindow recorder;
      QVERIFY(load(recorder, bundled + "gshard-tiny"));
      recorder.promptPanel()->setPrompt(QStringLiteral("The river"));
      QVERIFY(generate(recorder, 4));
      moescope::write_snapshot(recorder.document()->snapshot(), path.toStdString());
    }
    MainWindow window;
    window.show();
    QVERIFY(load(window, bundled + "deepseekmoe-tiny"));
    QCOMPARE(window.findChild<QSpinBox*>()->maximum() > 0, true);
    window.promptPanel()->setPrompt(QStringLiteral("Once"));
    QVERIFY(generate(window, 4));
    QCOMPARE(window.windowTitle(), QStringLiteral("moescope — live run of deepseekmoe-tiny"));
    QVERIFY(labelText(window, "speedLabel").contains(QLatin1String("tokens/s")));

    QVERIFY(openSnapshot(window, path));
    auto* masks = window.findChild<ExpertMaskPanel*>();
    QVERIFY(masks->findChild<QPushButton*>(QStringLiteral("expert63")));
    QVERIFY(masks->findChild<QWidget*>(QStringLiteral("sharedToggle"))->isVisibleTo(masks));
    QCOMPARE(window.windowTitle(),
             QStringLiteral("moescope — snapshot gshard.json (gshard-tiny) · Generate uses "
                            "deepseekmoe-tiny"));
    QVERIFY2(labelText(window, "screenLabel").contains(QLatin1String("On screen: snapshot")),
             qPrintable(labelText(window, "screenLabel")));
    QVERIFY2(!labelText(window, "speedLabel").contains(QLatin1String("tokens/s")),
             qPrintable(labelText(window, "speedLabel")));

    QVERIFY(generate(window, 3));  // Generate runs the loaded model and says so
    QCOMPARE(window.document()->config().n_routed_experts, 64);
    QCOMPARE(window.windowTitle(), QStringLiteral("moescope — live run of deepseekmoe-tiny"));
  }

  void maxTokensReachesTheModelsContext() {
    MainWindow window;
    QVERIFY(load(window, bundled + "deepseekmoe-tiny"));
    auto* spin = window.promptPanel()->findChildren<QSpinBox*>().last();  // max tokens
    QCOMPARE(spin->maximum(), 1024);
    QVERIFY(spin->toolTip().contains(QLatin1String("1024")));
  }

  void statusTextsArePlain() {
    RunStats stats;
    stats.promptTokens = 128;
    stats.generatedTokens = 30;
    stats.prefillSeconds = 0.002;
    stats.decodeSeconds = 1.0;
    stats.tokensPerSecond = 30.0;
    stats.stopReason = QStringLiteral("token limit");
    QCOMPARE(StatusTexts::runFinished(stats, 1024),
             QStringLiteral("30 tokens · 30.0 tokens/s · prompt 128 in 0.002 s · "
                            "stopped: token limit"));
    stats.stopReason = QStringLiteral("context full");
    QVERIFY(StatusTexts::runFinished(stats, 1024)
                .endsWith(QLatin1String("stopped: the model's context (1024 tokens) is full")));
    QCOMPARE(StatusTexts::plainError(QStringLiteral(
                 "run.json: not valid JSON: [json.exception.parse_error.101] parse error at "
                 "line 1, column 3")),
             QStringLiteral("run.json: not valid JSON: parse error at line 1, column 3"));
  }

  void folderWithoutConfigIsNotAModel() {
    QTemporaryDir dir;
    MainWindow window;
    DialogCatcher dialog;
    QSignalSpy loaded(window.controller(), &InferenceController::busyChanged);
    window.openModel(dir.path());
    QTRY_VERIFY(!dialog.text.isEmpty());
    QVERIFY2(dialog.text.contains(QLatin1String("is not a model folder")), qPrintable(dialog.text));
    QVERIFY(!dialog.text.contains(QLatin1String("cannot be read")));
    QCOMPARE(loaded.count(), 0);  // nothing started
  }

  void brokenJsonSaysSoPlainly() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("broken.json"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("{ nope");
    file.close();
    MainWindow window;
    DialogCatcher dialog;
    QVERIFY(!openSnapshot(window, path));
    QVERIFY2(dialog.text.contains(QLatin1String("broken.json")), qPrintable(dialog.text));
    QVERIFY2(!dialog.text.contains(QLatin1String("json.exception")), qPrintable(dialog.text));
  }

  void dialogsStartWhereTheLastOneEnded() {
    QVERIFY(!DialogFolders::start(DialogFolders::Kind::snapshot)
                 .startsWith(QStringLiteral(MOESCOPE_SOURCE_DIR)));
    QVERIFY(DialogFolders::start(DialogFolders::Kind::model).endsWith(QLatin1String("models")));
    QTemporaryDir dir;
    DialogFolders::remember(DialogFolders::Kind::snapshot, dir.filePath("run.json"));
    QCOMPARE(DialogFolders::start(DialogFolders::Kind::snapshot), dir.path());
  }

  // F5: the token text and the inspector alone, large, high contrast; F5 again restores.
  void presentationModeAndZoom() {
    MainWindow window;
    window.resize(1280, 720);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const double normal = window.font().pointSizeF();
    auto* plot = window.findChild<QDockWidget*>(QStringLiteral("tokenExpertDock"))
                     ->findChild<HeatmapPlot*>();
    const double plotNormal = plot->xAxis->tickLabelFont().pointSizeF();

    QTest::keyClick(&window, Qt::Key_F5);
    QVERIFY(window.isPresenting());
    for (QDockWidget* dock : window.findChildren<QDockWidget*>())
      QCOMPARE(dock->isVisible(), dock->objectName() == QLatin1String("inspectorDock"));
    QVERIFY(window.font().pointSizeF() >= 1.4 * normal);
    QVERIFY(plot->xAxis->tickLabelFont().pointSizeF() >= 1.4 * plotNormal);
    const QColor ground = window.palette().color(QPalette::Base);
    QVERIFY(ground == Qt::white || ground == Qt::black);

    QTest::keyClick(&window, Qt::Key_Equal, Qt::ControlModifier);
    QVERIFY(window.zoom() > 1.5);
    QTest::keyClick(&window, Qt::Key_Minus, Qt::ControlModifier);
    QTest::keyClick(&window, Qt::Key_Minus, Qt::ControlModifier);
    QVERIFY(window.zoom() < 1.5);

    QTest::keyClick(&window, Qt::Key_F5);
    QVERIFY(!window.isPresenting());
    QCOMPARE(window.zoom(), 1.0);
    QCOMPARE(window.font().pointSizeF(), normal);
    QVERIFY(window.findChild<QDockWidget*>(QStringLiteral("loadHeatmapDock"))->isVisible());
  }

  void resetLayoutBringsTheDocksBack() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto* load = window.findChild<QDockWidget*>(QStringLiteral("loadHeatmapDock"));
    load->close();
    load->setFloating(true);
    window.findChild<QAction*>(QStringLiteral("resetLayoutAction"))->trigger();
    QVERIFY(load->isVisible());
    QVERIFY(!load->isFloating());
  }

  void savedGeometryFitsTheScreen_data() {
    QTest::addColumn<QRect>("saved");
    QTest::addColumn<QRect>("screen");
    QTest::addColumn<QRect>("fitted");
    QTest::newRow("inside") << QRect(10, 10, 800, 600) << QRect(0, 0, 1280, 720)
                            << QRect(10, 10, 800, 600);
    QTest::newRow("4K window on a projector")
        << QRect(100, 50, 3000, 1800) << QRect(0, 0, 1280, 720) << QRect(0, 0, 1280, 720);
    QTest::newRow("off to the right")
        << QRect(2500, 300, 1000, 600) << QRect(0, 0, 1920, 1080) << QRect(920, 300, 1000, 600);
    QTest::newRow("second screen")
        << QRect(-50, -20, 800, 600) << QRect(1920, 0, 1280, 1024) << QRect(1920, 0, 800, 600);
  }
  void savedGeometryFitsTheScreen() {
    QFETCH(QRect, saved);
    QFETCH(QRect, screen);
    QFETCH(QRect, fitted);
    QCOMPARE(ScreenFit::fitInside(saved, screen), fitted);
  }

  void restoredWindowLiesOnTheScreen() {
    {
      MainWindow big;
      big.move(5000, 4000);
      big.show();
      QSettings().setValue(QStringLiteral("window/geometry"), big.saveGeometry());
    }
    MainWindow window;
    const QRect available = window.screen()->availableGeometry();
    QVERIFY2(available.contains(window.frameGeometry().topLeft()),
             qPrintable(QStringLiteral("%1,%2").arg(window.x()).arg(window.y())));
  }

  // Step mode: the prompt at once, then one generated token per →; Esc shows the rest.
  void stepModeShowsOneTokenPerArrow() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(load(window, fixture));
    window.findChild<QSlider*>(QStringLiteral("paceSlider"))->setValue(0);  // Step
    window.promptPanel()->setPrompt(QStringLiteral("One step"));
    auto sampling = window.promptPanel()->samplingSettings();
    sampling.max_tokens = 6;
    window.promptPanel()->setSamplingSettings(sampling);
    QSignalSpy finished(window.controller(), &InferenceController::runFinished);
    window.generate();
    QTRY_VERIFY_WITH_TIMEOUT(window.document()->tokenCount() > 0, timeoutMs);
    QTest::qWait(500);  // the engine runs ahead; nothing generated may show
    const int prompt = window.document()->tokenCount();
    QVERIFY(!window.document()->snapshot().tokens.back().routing.is_prompt == false);
    QVERIFY(window.controller()->isBusy());
    QCOMPARE(window.document()->selectedToken(), prompt - 1);

    window.tokenView()->focusTokens();
    QWidget* canvas = QApplication::focusWidget();
    for (int step = 1; step <= 2; ++step) {
      QTest::keyClick(canvas, Qt::Key_Right);
      QTRY_COMPARE_WITH_TIMEOUT(window.document()->tokenCount(), prompt + step, timeoutMs);
      QCOMPARE(window.document()->selectedToken(), prompt + step - 1);  // the inspector follows
    }
    QTest::keyClick(canvas, Qt::Key_Left);  // looking back does not step
    QCOMPARE(window.document()->tokenCount(), prompt + 2);
    QCOMPARE(finished.count(), 0);
    window.controller()->cancel();  // Esc
    QVERIFY(finished.wait(timeoutMs));
    QVERIFY(window.document()->tokenCount() > prompt + 2);
  }

  // The banner beside Generate names the switches; a note says when the text on
  // screen was made with others.
  void switchBannerAndStaleNote() {
    MainWindow window;
    window.show();
    QVERIFY(load(window, bundled + "deepseekmoe-tiny"));
    moescope::Interventions off;
    moescope::parse_disabled_experts("1:3,1:4,2:5,3:6", off);
    moescope::parse_disabled_shared("2", off);
    window.findChild<ExpertMaskPanel*>()->setInterventions(off);
    QCOMPARE(labelText(window, "switchBanner"),
             QStringLiteral("Switches for Generate: 4 experts off in 3 layers · shared off in "
                            "layer 2"));
    window.promptPanel()->setPrompt(QStringLiteral("Banner"));
    QVERIFY(generate(window, 3));
    auto* note = window.findChild<QLabel*>(QStringLiteral("switchNote"));
    QVERIFY(!note->isVisible());
    window.findChild<ExpertMaskPanel*>()->setInterventions({});
    QVERIFY(note->isVisible());
    QVERIFY2(note->text().contains(QLatin1String("other switches: 4 experts off")),
             qPrintable(note->text()));
  }
};

QTEST_MAIN(TestClassroom)
#include "test_classroom.moc"
