// Opens the main window, loads a model, generates ~30 tokens, selects one and
// grabs the window to a PNG: $MOESCOPE_SCREENSHOT (default: moescope.png in
// the working directory). $MOESCOPE_MODEL picks the model (default: the
// dense-lead-f32 fixture). Offscreen under ctest; under xvfb-run for a real look.
#include <QApplication>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

#include "inference_controller.h"
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
    window.generate();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    const auto stats = finished.first().first().value<RunStats>();
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
};

QTEST_MAIN(TestMainWindowScreenshot)
#include "test_main_window_screenshot.moc"
