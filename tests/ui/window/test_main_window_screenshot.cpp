// The main window end to end. The screenshot: opens it, loads a model, generates ~30 tokens,
// selects one and grabs the window to a PNG: $MOESCOPE_SCREENSHOT (default: moescope.png in the
// working directory). $MOESCOPE_MODEL picks the model (default: the dense-lead-f32 fixture),
// $MOESCOPE_SCREENSHOT_SIZE the window (default 1600x1000), MOESCOPE_PRESENTATION=1 grabs
// presentation mode (View > Presentation).
// Offscreen under ctest; under xvfb-run for a real look.
#include <QApplication>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFile>
#include <QLabel>
#include <QMessageBox>
#include <QPalette>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "document/routing_document.h"
#include "export/table_export.h"
#include "panels/expert_mask_panel.h"
#include "panels/prompt_panel.h"
#include "support/lateness_probe.h"
#include "support/screenshot_look.h"
#include "threads/inference_controller.h"
#include "views/compare_view.h"
#include "views/expert_load_heatmap.h"
#include "window/backend_menu.h"
#include "window/main_window.h"

namespace {

// Opens a snapshot and waits until the window shows it or refused it.
bool openAndWait(MainWindow& window, const QString& path) {
  QSignalSpy opened(&window, &MainWindow::snapshotOpened);
  window.openSnapshot(path);
  if (opened.isEmpty() && !opened.wait(60000)) return false;
  return opened.first().first().toBool();
}

}  // namespace

class TestMainWindowScreenshot : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // keep the user's QSettings out of it
    QApplication::setOrganizationName(QStringLiteral("moescope-test"));
    QApplication::setApplicationName(QStringLiteral("moescope-screenshot"));
    QSettings().clear();  // default dock layout, no recent models
    applyClassroomLook();
    screenshot_look::applyDarkPaletteIfAsked();
  }

  // Tools > Compute backend: a choice reloads the open model on that backend, the
  // status bar says which (why in its tooltip when automatic); the choice is kept.
  void backendChoiceReloadsTheModel() {
    MainWindow window;
    window.show();
    QSignalSpy loaded(window.controller(), &InferenceController::modelLoaded);
    window.openModel(QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32"));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 120000);
    auto* backendLabel = window.statusBar()->findChild<QLabel*>(QStringLiteral("backendLabel"));
    const auto backendText = [&] { return backendLabel->text(); };
    const auto summary = loaded.first().first().value<ModelSummary>();
    QCOMPARE(backendText(), summary.backendName);  // automatic: why is in the tooltip
    QCOMPARE(backendLabel->toolTip(), summary.backendReason);
    QVERIFY(!summary.backendReason.isEmpty());

    auto* menu = window.findChild<BackendMenu*>();
    QVERIFY(menu);
    QCOMPARE(menu->choice(), QStringLiteral("auto"));
    for (QAction* action : menu->actions())
      if (action->data() == QStringLiteral("cpu")) action->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 2, 120000);
    QCOMPARE(menu->choice(), QStringLiteral("cpu"));
    QVERIFY2(backendText().startsWith(QLatin1String("CPU (")), qPrintable(backendText()));
    QVERIFY2(!backendText().contains(QStringLiteral(" · ")), qPrintable(backendText()));
    QCOMPARE(QSettings().value(QStringLiteral("backend")).toString(), QStringLiteral("cpu"));
    QSettings().remove(QStringLiteral("backend"));
  }

  void generateSelectAndGrab() {
    const QString model = qEnvironmentVariable(
        "MOESCOPE_MODEL", QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32"));
    const QString output =
        qEnvironmentVariable("MOESCOPE_SCREENSHOT", QStringLiteral("moescope.png"));

    const QStringList size =
        qEnvironmentVariable("MOESCOPE_SCREENSHOT_SIZE", QStringLiteral("1600x1000")).split('x');
    QCOMPARE(size.size(), 2);

    MainWindow window;
    window.resize(size[0].toInt(), size[1].toInt());
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
    if (qEnvironmentVariableIntValue("MOESCOPE_PRESENTATION")) window.setPresentation(true);
    QTest::qWait(300);  // queued replots
    const QPixmap shot = window.grab();
    QVERIFY(shot.save(output));
    qDebug() << "screenshot" << output << shot.size();
  }

  // MOESCOPE_SNAPSHOT=run.json MOESCOPE_SNAPSHOT_SCREENSHOT=out.png: opens a
  // snapshot (e.g. a deepseek-moe-16b run) with no model, selects a token and grabs.
  void snapshotGrab() {
    const QString snapshot = qEnvironmentVariable("MOESCOPE_SNAPSHOT");
    const QString output = qEnvironmentVariable("MOESCOPE_SNAPSHOT_SCREENSHOT");
    if (snapshot.isEmpty() || output.isEmpty())
      QSKIP("set MOESCOPE_SNAPSHOT and MOESCOPE_SNAPSHOT_SCREENSHOT");
    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(openAndWait(window, snapshot));
    window.document()->setSelectedToken(window.document()->tokenCount() / 2);
    QTest::qWait(500);
    QVERIFY(window.grab().save(output));
  }

  // A click in the expert grid reaches the engine: the expert vanishes from the next run.
  void gridClickRemovesExpertFromNextRun() {
    MainWindow window;
    window.show();
    QSignalSpy loaded(window.controller(), &InferenceController::modelLoaded);
    window.openModel(QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32"));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
    window.promptPanel()->setPrompt(QStringLiteral("Grid"));
    QSignalSpy finished(window.controller(), &InferenceController::runFinished);

    const auto chosen = [&](int expert) {
      int n = 0;
      for (const auto& token : window.document()->snapshot().tokens)
        for (const auto& layer : token.routing.layers)
          n += std::count(layer.expert_ids.begin(), layer.expert_ids.end(), expert);
      return n;
    };
    window.generate();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    int busiest = 0;
    for (int e = 1; e < window.document()->config().n_routed_experts; ++e)
      if (chosen(e) > chosen(busiest)) busiest = e;
    QVERIFY(chosen(busiest) > 0);

    auto* button = window.findChild<QPushButton*>(QStringLiteral("expert%1").arg(busiest));
    QVERIFY(button);
    QTest::mouseClick(button, Qt::LeftButton);  // "All layers" is the grid's default
    window.generate();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
    QVERIFY(window.document()->tokenCount() > 0);
    QCOMPARE(chosen(busiest), 0);
  }

  // Baseline then intervened, same seed; both reach the Compare window.
  void compareWithExpertsOff() {
    MainWindow window;
    window.resize(1280, 720);
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
    // A window of its own, first over the main one: at 1280×720 each text is several
    // lines high (it was one line in a dock beside the heatmaps).
    auto* compare = window.compareView();
    QVERIFY(compare->isWindow() && compare->isVisible());
    QCOMPARE(compare->geometry(), window.geometry());
    for (const char* text : {"compareBaselineText", "compareSwitchedText"})
      QVERIFY2(compare->findChild<QWidget*>(QLatin1String(text))->height() >=
                   4 * compare->fontMetrics().height(),
               text);
    // It teaches: the switch named, where its load went in each MoE layer, and
    // the next-token KL of every generated token.
    QCOMPARE(compare->header(),
             QStringLiteral("Baseline (all experts on) vs expert 2 off in every layer"));
    const QStringList shift = compare->routingShift();
    QCOMPARE(shift.size(), int(window.document()->moeLayers().size()));
    for (const QString& line : shift)
      QVERIFY2(line.contains(QLatin1String("off: e2 (had ")), qPrintable(line));
    const auto stats = finished.at(1).first().value<RunStats>();
    QCOMPARE(stats.nextTokenKl.size(), stats.generatedTokens);
    QVERIFY(compare->divergenceSummary().contains(QLatin1String("KL(baseline")));
    QCOMPARE(compare->divergenceTable().rows.size(), stats.generatedTokens);

    // Saved with the snapshot, the comparison comes back without the model.
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("compare.json"));
    moescope::write_snapshot(window.document()->snapshot(), path.toStdString());
    const auto saved = moescope::read_snapshot(path.toStdString()).comparison;
    QVERIFY(saved.has_value());
    QCOMPARE(int(saved->next_token_kl.size()), stats.generatedTokens);
    MainWindow viewer;
    viewer.resize(1280, 720);
    viewer.show();
    QVERIFY(openAndWait(viewer, path));
    CompareView* reopened = viewer.compareView();
    QVERIFY(reopened->isVisible());
    QCOMPARE(reopened->header(), compare->header());
    QCOMPARE(reopened->summary(), compare->summary());
    QCOMPARE(reopened->routingShift(), compare->routingShift());
    QCOMPARE(reopened->divergenceTable().rows, compare->divergenceTable().rows);
    // A snapshot without a comparison replaces the text it was of: the window goes.
    moescope::RoutingSnapshot plain = window.document()->snapshot();
    plain.comparison.reset();
    moescope::write_snapshot(plain, dir.filePath(QStringLiteral("plain.json")).toStdString());
    QVERIFY(openAndWait(viewer, dir.filePath(QStringLiteral("plain.json"))));
    QVERIFY(!reopened->isVisible());
  }

  // With every expert on, Compare runs nothing and says what to do first.
  void compareWithNothingOffExplains() {
    MainWindow window;
    window.show();
    QSignalSpy loaded(window.controller(), &InferenceController::modelLoaded);
    window.openModel(QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32"));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
    QSignalSpy started(window.controller(), &InferenceController::runStarted);
    window.compareWithExpertsOff();
    QVERIFY(window.compareView()->isVisible());
    QVERIFY(window.findChild<CompareView*>()->header().startsWith(
        QLatin1String("Nothing is switched off")));
    QTest::qWait(100);
    QCOMPARE(started.count(), 0);
    QVERIFY(!window.controller()->isBusy());
  }

  // A saved run redraws in a window that never loaded a model.
  void snapshotOpensWithoutModel() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("run.json"));
    int tokens = 0;
    QVector<QVector<double>> recordedLoad;
    std::vector<moescope::SnapshotToken> recorded;
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
      recorded = recorder.document()->snapshot().tokens;
      recordedLoad = recorder.findChild<ExpertLoadHeatmap*>()->cellValues();
      moescope::write_snapshot(recorder.document()->snapshot(), path.toStdString());
    }
    MainWindow viewer;
    viewer.show();
    QVERIFY(openAndWait(viewer, path));
    QVERIFY(!viewer.controller()->model());
    QCOMPARE(viewer.document()->tokenCount(), tokens);
    QCOMPARE(viewer.promptPanel()->prompt(), QStringLiteral("Saved for later"));
    // Every view draws from the document: same routing, same heatmap cells.
    const auto& opened = viewer.document()->snapshot().tokens;
    for (int i = 0; i < tokens; ++i) {
      QCOMPARE(opened[i].text, recorded[i].text);
      QCOMPARE(opened[i].routing.layers.size(), recorded[i].routing.layers.size());
      for (std::size_t l = 0; l < opened[i].routing.layers.size(); ++l) {
        QCOMPARE(opened[i].routing.layers[l].expert_ids, recorded[i].routing.layers[l].expert_ids);
        QCOMPARE(opened[i].routing.layers[l].gate_weights,
                 recorded[i].routing.layers[l].gate_weights);
        QCOMPARE(opened[i].routing.layers[l].scores, recorded[i].routing.layers[l].scores);
      }
    }
    QCOMPARE(viewer.findChild<ExpertLoadHeatmap*>()->cellValues(), recordedLoad);
  }

  // A long run's snapshot is parsed off the GUI thread: the window keeps
  // answering while the file is read (only showing it takes GUI time).
  void bigSnapshotOpensWithoutBlocking() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("long.json"));
    {
      MainWindow recorder;
      QSignalSpy loaded(recorder.controller(), &InferenceController::modelLoaded);
      recorder.openModel(QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32"));
      QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, 60000);
      QSignalSpy finished(recorder.controller(), &InferenceController::runFinished);
      recorder.generate();
      QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
      moescope::RoutingSnapshot snapshot = recorder.document()->snapshot();
      const std::vector<moescope::SnapshotToken> run = snapshot.tokens;
      for (std::size_t i = 0; snapshot.tokens.size() < 20000; ++i) {  // the run repeated
        moescope::SnapshotToken token = run[i % run.size()];
        token.routing.position = int(snapshot.tokens.size());
        token.routing.is_prompt = false;  // a snapshot's prompt comes first
        snapshot.tokens.push_back(std::move(token));
      }
      moescope::write_snapshot(snapshot, path.toStdString());
    }
    QElapsedTimer parse;
    parse.start();
    moescope::read_snapshot(path.toStdString());
    const qint64 parseMs = parse.elapsed();

    MainWindow viewer;
    viewer.show();
    QVERIFY(QTest::qWaitForWindowExposed(&viewer));
    QSignalSpy opened(&viewer, &MainWindow::snapshotOpened);
    LatenessProbe probe;
    probe.start();
    viewer.openSnapshot(path);
    QVERIFY(!viewer.promptPanel()
                 ->findChild<QPushButton*>(QStringLiteral("generateButton"))
                 ->isEnabled());  // no run may race the document being replaced
    QVERIFY(opened.wait(60000));
    probe.stop();
    QVERIFY(opened.first().first().toBool());
    QCOMPARE(viewer.document()->tokenCount(), 20000);
    qInfo("20000-token snapshot: parsing takes %lld ms; the GUI thread was blocked at most %lld ms",
          parseMs, probe.worstMs());
    QVERIFY2(probe.worstMs() < parseMs, "the window waited for the whole parse");
  }

  // A broken snapshot is refused with the reader's message; the window keeps what it showed.
  void malformedSnapshotIsRejected() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("broken.json"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"format": "moescope-routing-snapshot", "version": 1})");
    file.close();
    MainWindow window;
    window.show();
    QString shown;
    QTimer closer;  // answers the warning dialog, remembering its text
    connect(&closer, &QTimer::timeout, [&] {
      if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
        shown = box->text();
        box->accept();
      }
    });
    closer.start(20);
    QVERIFY(!openAndWait(window, path));
    QVERIFY2(shown.contains(QStringLiteral("broken.json")), qPrintable(shown));
    QVERIFY(window.document()->isEmpty());
  }
};

QTEST_MAIN(TestMainWindowScreenshot)
#include "test_main_window_screenshot.moc"
