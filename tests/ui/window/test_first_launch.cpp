// A newcomer's first minutes: the start card in the empty text area leads to
// Lesson 1 or runs an example prompt; the token colours get a legend; File ▸
// Open Recent holds snapshots beside models; the token text and the Compare
// view export as pictures.
#include <QDockWidget>
#include <QMenu>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "document/routing_document.h"
#include "export/widget_export.h"
#include "panels/lesson_panel.h"
#include "panels/prompt_panel.h"
#include "threads/inference_controller.h"
#include "ui/window/window_steps.h"
#include "views/start_card.h"
#include "views/token_text_view.h"
#include "window/main_window.h"

namespace {

const QString fixture = QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32");
using window_steps::timeoutMs;

bool load(MainWindow& window) {
  return window_steps::load(window, fixture);
}

}  // namespace

class TestFirstLaunch : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("moescope-test"));
    QCoreApplication::setApplicationName(QStringLiteral("moescope-first-launch"));
  }
  void init() { QSettings().clear(); }

  void startCardLeadsToLessonOne() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    StartCard* card = window.tokenView()->startCard();
    QVERIFY(card->isVisible());
    QVERIFY(!window.tokenView()
                 ->findChild<QScrollArea*>(QStringLiteral("tokenTextScroll"))
                 ->isVisible());
    auto* lessons = window.findChild<QDockWidget*>(QStringLiteral("lessonsDock"));
    window.findChild<QDockWidget*>(QStringLiteral("masksDock"))->raise();
    QTest::mouseClick(card->findChild<QPushButton*>(QStringLiteral("tryLessonButton")),
                      Qt::LeftButton);
    QTRY_VERIFY(window.lessonPanel()->isVisible());  // its tab raised over the switches
    QVERIFY(lessons->isVisible());
  }

  void examplePromptRunsAndTheColoursGetALegend() {
    MainWindow window;
    window.show();
    QVERIFY(load(window));
    StartCard* card = window.tokenView()->startCard();
    QSignalSpy finished(window.controller(), &InferenceController::runFinished);
    QTest::mouseClick(card->findChild<QPushButton*>(QStringLiteral("examplePrompt1")),
                      Qt::LeftButton);
    QVERIFY(finished.wait(timeoutMs));
    QCOMPARE(window.promptPanel()->prompt(), StartCard::examplePrompts()[1]);
    QVERIFY(!card->isVisible());
    QVERIFY(window.tokenView()
                ->findChild<QScrollArea*>(QStringLiteral("tokenTextScroll"))
                ->isVisible());
    const QString legend = window.tokenView()->legendText();
    QVERIFY2(legend.contains(QLatin1String("colour = top expert")), qPrintable(legend));
    // The busiest top expert at the focus layer comes first, with its token count.
    QMap<int, int> counts;
    for (const auto& token : window.document()->snapshot().tokens)
      for (const auto& layer : token.routing.layers)
        if (layer.layer == window.document()->focusLayer()) ++counts[layer.expert_ids.front()];
    int busiest = counts.firstKey();
    for (auto it = counts.cbegin(); it != counts.cend(); ++it)
      if (it.value() > counts[busiest]) busiest = it.key();
    QVERIFY2(legend.contains(
                 QStringLiteral(">&nbsp;e%1&nbsp;</span> %2").arg(busiest).arg(counts[busiest])),
             qPrintable(legend));

    // The coloured text as a picture, whole.
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("tokens.png"));
    QCOMPARE(WidgetExport::save(window.tokenView()->canvas(), png), QString());
    QCOMPARE(QImage(png).size(), window.tokenView()->canvas()->size() * 2);
    QVERIFY(window.findChild<QAction*>(QStringLiteral("exportTokenTextAction")));
    QVERIFY(window.findChild<QAction*>(QStringLiteral("exportCompareAction")));
  }

  void openRecentHoldsSnapshots() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("lesson.json"));
    int tokens = 0;
    {
      MainWindow recorder;
      QVERIFY(load(recorder));
      QVERIFY(window_steps::generate(recorder, 64, QStringLiteral("Recent")));
      tokens = recorder.document()->tokenCount();
      moescope::write_snapshot(recorder.document()->snapshot(), path.toStdString());
      QSignalSpy opened(&recorder, &MainWindow::snapshotOpened);
      recorder.openSnapshot(path);
      QVERIFY(opened.wait(timeoutMs));
    }
    MainWindow window;
    auto* recent = window.findChild<QMenu*>(QStringLiteral("recentMenu"));
    QStringList entries;
    for (QAction* action : recent->actions()) entries << action->text();
    QCOMPARE(entries.size(), 2);
    QCOMPARE(entries[0], QStringLiteral("Snapshot: %1").arg(path));
    QVERIFY(entries[1].startsWith(QLatin1String("Model: ")));
    QSignalSpy opened(&window, &MainWindow::snapshotOpened);
    recent->actions().first()->trigger();
    QVERIFY(opened.wait(timeoutMs));
    QCOMPARE(window.document()->tokenCount(), tokens);
  }
};

QTEST_MAIN(TestFirstLaunch)
#include "test_first_launch.moc"
