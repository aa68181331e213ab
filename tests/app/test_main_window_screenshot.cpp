// The main window end to end. The screenshot: opens it, loads a model, generates ~30 tokens,
// selects one and grabs the window to a PNG: $MOESCOPE_SCREENSHOT (default: moescope.png in the
// working directory). $MOESCOPE_MODEL picks the model (default: the dense-lead-f32 fixture).
// Offscreen under ctest; under xvfb-run for a real look.
#include <QApplication>
#include <QDockWidget>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "expert_mask_panel.h"
#include "inference_controller.h"
#include "lateness_probe.h"
#include "main_window.h"
#include "prompt_panel.h"
#include "routing_document.h"

class TestMainWindowScreenshot : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // keep the user's QSettings out of it
    QApplication::setOrganizationName(QStringLiteral("moescope-test"));
    QApplication::setApplicationName(QStringLiteral("moescope-screenshot"));
    QSettings().clear();  // default dock layout, no recent models
    applyClassroomLook();
  }

  void generateSelectAndGrab() {
    const QString model = qEnvironmentVariable(
        "MOESCOPE_MODEL", QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32"));
    const QString output =
        qEnvironmentVariable("MOESCOPE_SCREENSHOT", QStringLiteral("moescope.png"));

    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    QSignalSpy loaded(window.controller(), &InferenceController::modelLoaded);
    window.openModel(model);
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 120000);

    window.promptPanel()->setPrompt(QStringLiteral("Once upon a time, a little robot"));
    auto sampling = window.promptPanel()->samplingSettings();
    sampling.max_tokens = 30;
    window.promptPanel()->setSamplingSettings(sampling);
    QSignalSpy finished(window.controller(), &InferenceController::runFinished);
    LatenessProbe probe;  // with every view attached and replotting
    probe.start();
    window.generate();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    probe.stop();
    const auto stats = finished.first().first().value<RunStats>();
    qDebug().nospace() << "worst GUI-thread lateness " << probe.worstMs() << " ms over "
                       << probe.elapsedMs() << " ms with all views";
    QCOMPARE(window.document()->tokenCount(), stats.promptTokens + stats.generatedTokens);

    // Select a generated word (not a space or punctuation) for the inspector.
    const auto& tokens = window.document()->snapshot().tokens;
    int selected = stats.promptTokens + stats.generatedTokens / 3;
    const auto isWord = [&](int i) {
      const QString text = QString::fromStdString(tokens[i].text).trimmed();
      return !text.isEmpty() && text.front().isLetter();
    };
    while (selected + 1 < int(tokens.size()) && !isWord(selected)) ++selected;
    window.document()->setSelectedToken(selected);
    QTest::qWait(300);  // queued replots
    const QPixmap shot = window.grab();
    QVERIFY(shot.save(output));
    qDebug() << "screenshot" << output << shot.size();
  }

  // Baseline then intervened, same seed; both reach the Compare dock.
  void compareWithExpertsOff() {
    MainWindow window;
    window.show();
    QSignalSpy loaded(window.controller(), &InferenceController::modelLoaded);
    window.openModel(QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32"));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);

    moescope::Interventions off;
    off.disabled_experts = {{moescope::Interventions::all_layers, 2}};
    window.findChild<ExpertMaskPanel*>()->setInterventions(off);
    window.promptPanel()->setPrompt(QStringLiteral("Compare"));
    QSignalSpy finished(window.controller(), &InferenceController::runFinished);
    window.compareWithExpertsOff();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
    QCOMPARE(finished.at(0).first().value<RunStats>().tag, QStringLiteral("baseline"));
    QCOMPARE(finished.at(1).first().value<RunStats>().tag, QStringLiteral("intervened"));
    QCOMPARE(window.document()->snapshot().interventions.disabled_experts, off.disabled_experts);
    QVERIFY(window.findChild<QDockWidget*>(QStringLiteral("compareDock"))->isVisible());
  }

  // A saved run redraws in a window that never loaded a model.
  void snapshotOpensWithoutModel() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("run.json"));
    int tokens = 0;
    {
      MainWindow recorder;
      QSignalSpy loaded(recorder.controller(), &InferenceController::modelLoaded);
      recorder.openModel(QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32"));
      QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
      recorder.promptPanel()->setPrompt(QStringLiteral("Saved for later"));
      QSignalSpy finished(recorder.controller(), &InferenceController::runFinished);
      recorder.generate();
      QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
      tokens = recorder.document()->tokenCount();
      moescope::write_snapshot(recorder.document()->snapshot(), path.toStdString());
    }
    MainWindow viewer;
    viewer.show();
    QVERIFY(viewer.openSnapshot(path));
    QVERIFY(!viewer.controller()->model());
    QCOMPARE(viewer.document()->tokenCount(), tokens);
    QCOMPARE(viewer.promptPanel()->prompt(), QStringLiteral("Saved for later"));
  }
};

QTEST_MAIN(TestMainWindowScreenshot)
#include "test_main_window_screenshot.moc"
