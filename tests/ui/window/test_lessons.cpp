// The lessons: every step of resources/lessons/lessons.json names things that
// exist (bundled models, experiments, docks) and switches that validate; and
// steps really run when their buttons are pressed: a lesson loads its model, generates, switches
// off the most used experts of the last run, and the compared run never routes to them.
#include <QApplication>
#include <QDockWidget>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>
#include <filesystem>

#include "analysis/experiments.h"
#include "document/routing_document.h"
#include "model/default_model.h"
#include "panels/expert_mask_panel.h"
#include "panels/lesson_panel.h"
#include "run/routing_stats.h"
#include "threads/inference_controller.h"
#include "window/main_window.h"

using namespace moescope;
namespace fs = std::filesystem;

namespace {

// Presses step `number` (1-based) of the lesson whose title starts with `prefix`.
void pressStep(LessonPanel* panel, const QString& prefix, int number) {
  for (int l = 0; l < panel->lessons().size(); ++l)
    if (panel->lessons()[l].title.startsWith(prefix)) panel->showLesson(l);
  for (auto* button : panel->findChildren<QPushButton*>())
    if (button->text().startsWith(QString::number(number) + ". ")) return button->click();
  QFAIL("no such step button");
}

}  // namespace

class TestLessons : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    applyClassroomLook();
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("moescope-test"));
    QApplication::setApplicationName(QStringLiteral("moescope-lessons"));
    QSettings().clear();
  }

  void everyStepNamesWhatExists() {
    QString error;
    const QVector<Lesson> lessons = loadLessons(QStringLiteral(":/lessons/lessons.json"), &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(lessons.size(), 6);
    MainWindow window;
    QString model = QStringLiteral("deepseekmoe-tiny");
    for (const Lesson& lesson : lessons)
      for (const LessonStep& s : lesson.steps) {
        const QString where = lesson.title + " / " + s.title;
        if (!s.model.isEmpty()) model = s.model;
        const fs::path dir = default_model_dir().parent_path() / model.toStdString();
        QVERIFY2(fs::exists(dir / "config.json"), qPrintable(where));
        if (!s.view.isEmpty())
          QVERIFY2(window.findChild<QDockWidget*>(s.view), qPrintable(where + ": " + s.view));
        if (s.action == QLatin1String("experiment")) {
          const auto& catalogue = experiment_catalogue();
          QVERIFY2(std::any_of(catalogue.begin(), catalogue.end(),
                               [&](const ExperimentInfo& e) {
                                 return e.name == s.experiment.toStdString();
                               }),
                   qPrintable(where));
        }
        Interventions i;
        if (!s.disable.isEmpty()) parse_disabled_experts(s.disable.toStdString(), i);
        if (!s.disableShared.isEmpty()) parse_disabled_shared(s.disableShared.toStdString(), i);
        if (s.topK) i.top_k = s.topK;
        i.select_without_bias = s.selectWithoutBias;
        i.validate(load_model_config(dir));
      }
    QString broken;
    QVERIFY(loadLessons(QStringLiteral(":/nonexistent.json"), &broken).isEmpty());
    QVERIFY(broken.contains(QStringLiteral("nonexistent.json")));
  }

  void switchingOffTheMostUsedExpertsReachesTheEngine() {
    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QSignalSpy loaded(window.controller(), &InferenceController::modelLoaded);
    QSignalSpy finished(window.controller(), &InferenceController::runFinished);

    pressStep(window.lessonPanel(), "5.", 1);  // loads deepseekmoe-tiny, then generates
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    QCOMPARE(loaded.count(), 1);
    QCOMPARE(window.controller()->model()->name, QStringLiteral("deepseekmoe-tiny"));
    std::vector<TokenRouting> baseline;
    for (const auto& t : window.document()->snapshot().tokens) baseline.push_back(t.routing);
    const auto load = expert_load(baseline, 64);

    pressStep(window.lessonPanel(), "5.", 2);  // most used 4 per layer off, then compare
    const Interventions off = window.findChild<ExpertMaskPanel*>()->interventions();
    QCOMPARE(off.disabled_experts.size(), std::size_t(4 * load.size()));
    // The grid shows them in its All layers view: each off expert with its layer count.
    int marked = 0;
    for (int e = 0; e < 64; ++e)
      marked += window.findChild<QPushButton*>(QStringLiteral("expert%1").arg(e))
                    ->property("switchState") != QStringLiteral("on");
    QVERIFY(marked > 0);
    for (const LayerLoad& l : load) {
      int lowestOff = 1 << 30, highestOn = 0;
      for (int e = 0; e < 64; ++e)
        (off.expert_disabled(l.layer, e) ? lowestOff = std::min(lowestOff, l.counts[e])
                                         : highestOn = std::max(highestOn, l.counts[e]));
      QVERIFY(lowestOff >= highestOn);
    }
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, 120000);  // baseline + intervened
    for (const auto& t : window.document()->snapshot().tokens)
      for (const LayerRouting& l : t.routing.layers)
        for (int e : l.expert_ids) QVERIFY(!off.expert_disabled(l.layer, e));

    const QString shot = qEnvironmentVariable("MOESCOPE_LESSON_SCREENSHOT");
    if (!shot.isEmpty()) {
      window.findChild<QDockWidget*>(QStringLiteral("lessonsDock"))->raise();
      QTest::qWait(300);
      QVERIFY(window.grab().save(shot));
    }
  }

  void firstLessonSelectsTheLastToken() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QSignalSpy finished(window.controller(), &InferenceController::runFinished);
    pressStep(window.lessonPanel(), "1.", 1);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    QCOMPARE(window.document()->selectedToken(), window.document()->tokenCount() - 1);
    QVERIFY(window.findChild<QDockWidget*>(QStringLiteral("inspectorDock"))->isVisible());
  }
};

QTEST_MAIN(TestLessons)
#include "test_lessons.moc"
