// The Experiments panel in the window: a run on the loaded model reaches the
// engine on its own thread and draws its heatmaps; Cancel stops a run. With
// $MOESCOPE_EXPERIMENT_SCREENSHOT set, also runs the redundancy experiment on
// the bundled pair and grabs the window to that PNG (slow; not in CI).
#include <QApplication>
#include <QFileDialog>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QTest>
#include <QTimer>

#include "experiments/experiment_panel.h"
#include "experiments/experiment_plot.h"
#include "plots/heatmap_plot.h"
#include "ui/window/window_steps.h"

namespace {

bool findingsSay(QWidget* panel, const char* text) {
  for (auto* label : panel->findChildren<QLabel*>())
    if (label->isVisibleTo(panel) && label->text().contains(QLatin1String(text))) return true;
  return false;
}

// Loads the fixture model and selects the specialisation experiment on it,
// 128 tokens a text.
bool specialisationOnFixture(MainWindow& window) {
  if (!window_steps::load(window, QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32")))
    return false;
  window.experimentPanel()->select(QStringLiteral("specialisation"), false);
  window.experimentPanel()->setTokensPerText(128);
  return true;
}

QPushButton* button(QWidget* panel, const QString& text) {
  for (auto* b : panel->findChildren<QPushButton*>())
    if (b->text() == text) return b;
  return nullptr;
}

}  // namespace

class TestExperimentPanel : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("moescope-test"));
    QApplication::setApplicationName(QStringLiteral("moescope-experiments"));
    QSettings().clear();
    applyClassroomLook();
  }

  void runOnTheLoadedModelAndCancel() {
    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(specialisationOnFixture(window));
    ExperimentPanel* panel = window.experimentPanel();
    QCOMPARE(panel->job().modelDirs.size(), 1);
    QVERIFY(panel->job().modelDirs[0].endsWith(QStringLiteral("dense-lead-f32")));
    QVERIFY(panel->job().textFiles.size() >= 2);  // the bundled held-out texts

    QPushButton* run = button(panel, QStringLiteral("Run"));
    QVERIFY(run);
    run->click();
    QCOMPARE(run->text(), QStringLiteral("Cancel"));
    QTRY_VERIFY_WITH_TIMEOUT(panel->result() != nullptr, 60000);
    QTRY_COMPARE(run->text(), QStringLiteral("Run"));
    QCOMPARE(panel->result()->heatmaps.size(), std::size_t(2));  // MoE layers 1 and 2
    QCOMPARE(panel->plot()->currentWidget(), panel->plot()->heatmapPlot());
    const QCPColorMapData* cells = panel->plot()->heatmapPlot()->colorMap()->data();
    QCOMPARE(cells->keySize(), 16);                                    // routed experts
    QCOMPARE(cells->valueSize(), int(panel->job().textFiles.size()));  // domains

    // Another experiment: the previous chart and findings go, the title is not left over them.
    panel->select(QStringLiteral("redundancy"), false);
    QVERIFY(panel->result() == nullptr);
    QVERIFY(!panel->plot()->emptyMessage().isEmpty());
    QVERIFY(!findingsSay(panel, "Domain specialisation"));

    // Cancel: the flag is set before the worker reads its first token; no chart stays.
    run->click();
    run->click();
    QTRY_COMPARE_WITH_TIMEOUT(run->text(), QStringLiteral("Run"), 60000);
    QVERIFY(panel->result() == nullptr);
    QVERIFY(findingsSay(panel, "Cancelled."));
    QCOMPARE(panel->plot()->emptyMessage(), QStringLiteral("Cancelled."));
    // The next run no longer says "Cancelled." while it goes.
    panel->select(QStringLiteral("specialisation"), false);
    run->click();
    QVERIFY(!findingsSay(panel, "Cancelled."));
    QTRY_VERIFY_WITH_TIMEOUT(panel->result() != nullptr, 60000);
    QTRY_COMPARE(run->text(), QStringLiteral("Run"));
  }

  // The empty chart fills the window's result area before any run, not a thin strip.
  void emptyChartHasItsRoom() {
    MainWindow window;
    window.showExperiments();
    ExperimentPanel* panel = window.experimentPanel();
    panel->resize(1280, 720);
    QVERIFY(QTest::qWaitForWindowExposed(panel));
    QVERIFY2(panel->plot()->height() > panel->height() / 2,
             qPrintable(QString::number(panel->plot()->height())));
    QVERIFY(panel->plot()->width() > panel->width() / 2);
  }

  // Export result… offers the table as CSV besides the JSON.
  void exportOffersCsv() {
    MainWindow window;
    QVERIFY(specialisationOnFixture(window));
    ExperimentPanel* panel = window.experimentPanel();
    panel->run();
    QTRY_VERIFY_WITH_TIMEOUT(panel->result() != nullptr, 60000);
    QStringList filters;
    QTimer closer;
    connect(&closer, &QTimer::timeout, [&] {
      if (auto* dialog = qobject_cast<QFileDialog*>(QApplication::activeModalWidget())) {
        filters = dialog->nameFilters();
        dialog->reject();
      }
    });
    closer.start(20);
    panel->findChild<QPushButton*>(QStringLiteral("exportResultButton"))->click();
    QVERIFY2(filters.size() == 2 && filters[1].contains(QLatin1String("*.csv")),
             qPrintable(filters.join(" | ")));
  }

  void bundledPairScreenshot() {
    const QString output = qEnvironmentVariable("MOESCOPE_EXPERIMENT_SCREENSHOT");
    if (output.isEmpty())
      QSKIP("set MOESCOPE_EXPERIMENT_SCREENSHOT=out.png to grab the bundled pair");
    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.showExperiments();
    ExperimentPanel* panel = window.experimentPanel();
    QVERIFY(QTest::qWaitForWindowExposed(panel));
    panel->select(qEnvironmentVariable("MOESCOPE_EXPERIMENT", QStringLiteral("redundancy")), true);
    panel->setTokensPerText(qEnvironmentVariableIntValue("MOESCOPE_EXPERIMENT_TOKENS") > 0
                                ? qEnvironmentVariableIntValue("MOESCOPE_EXPERIMENT_TOKENS")
                                : 256);
    button(panel, QStringLiteral("Run"))->click();
    QTRY_VERIFY_WITH_TIMEOUT(panel->result() != nullptr, 3600000);  // topk at 1024 tokens: minutes
    QTest::qWait(300);
    QVERIFY(panel->grab().save(output));
  }
};

QTEST_MAIN(TestExperimentPanel)
#include "test_experiment_panel.moc"
