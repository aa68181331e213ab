// The README's screenshots, one size and theme per process:
//   MOESCOPE_GALLERY=docs/screenshots MOESCOPE_SCREENSHOT_SIZE=1280x720 [MOESCOPE_DARK=1]
//   xvfb-run -a -s "-screen 0 1920x1080x24" test_screenshot_gallery
// grabs first-launch, main (a run, the inspector open), compare, presentation,
// experiments-before and experiments-after as NAME-1280x720-light.png (…-dark.png)
// of deepseekmoe-tiny.
// Without MOESCOPE_GALLERY it skips (ctest).
#include <QDockWidget>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>
#include <map>

#include "document/routing_document.h"
#include "experiments/experiment_panel.h"
#include "panels/expert_mask_panel.h"
#include "panels/prompt_panel.h"
#include "support/screenshot_look.h"
#include "threads/inference_controller.h"
#include "ui/window/window_steps.h"
#include "views/compare_view.h"
#include "window/main_window.h"

namespace {

constexpr int timeoutMs = 600000;

// The experts most often chosen at `layer`, busiest first.
std::vector<int> busiest(const RoutingDocument& document, int layer, int count) {
  std::map<int, int> chosen;
  for (const auto& token : document.snapshot().tokens)
    for (const auto& routing : token.routing.layers)
      if (routing.layer == layer)
        for (int e : routing.expert_ids) ++chosen[e];
  std::vector<std::pair<int, int>> order(chosen.begin(), chosen.end());
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<int> experts;
  for (int i = 0; i < count && i < int(order.size()); ++i) experts.push_back(order[i].first);
  return experts;
}

// A generated word (not a space or punctuation) past the first third, for the inspector.
int generatedWord(const RoutingDocument& document, bool changedByASwitch) {
  const auto& tokens = document.snapshot().tokens;
  for (int i = int(tokens.size()) / 3; i < int(tokens.size()); ++i) {
    const QString text = QString::fromStdString(tokens[i].text).trimmed();
    bool changed = false;
    for (const auto& layer : tokens[i].routing.layers) changed |= layer.mask_changed;
    if (!tokens[i].routing.is_prompt && !text.isEmpty() && text.front().isLetter() &&
        (!changedByASwitch || changed))
      return i;
  }
  return int(tokens.size()) - 1;
}

}  // namespace

class TestScreenshotGallery : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("moescope-test"));
    QApplication::setApplicationName(QStringLiteral("moescope-gallery"));
    QSettings().clear();  // the default layout
    applyClassroomLook();
    screenshot_look::applyDarkPaletteIfAsked();
  }

  void gallery() {
    if (folder().isEmpty()) QSKIP("set MOESCOPE_GALLERY=folder to take the README's screenshots");
    MainWindow window;
    open(window, "deepseekmoe-tiny");
    save(&window, "first-launch");

    QVERIFY(window_steps::generate(window, 30, QStringLiteral("Once upon a time, a little robot")));
    RoutingDocument* document = window.document();
    document->setSelectedToken(generatedWord(*document, false));
    save(&window, "main");  // a run with the inspector open

    // The four busiest experts of the first MoE layer off everywhere, then Compare.
    moescope::Interventions off;
    for (int e : busiest(*document, document->moeLayers().front(), 4))
      off.disabled_experts.insert({moescope::Interventions::all_layers, e});
    compare(window, off, "compare");

    window.setPresentation(true);
    save(&window, "presentation");
    window.setPresentation(false);

    experiment(window, "specialisation", false, 128, "experiments-before", "experiments-after");
  }

  // DeepSeek-V3's balancing on deepseekv3-tiny: the inspector ranking score + bias, Compare
  // with the raw scores selecting, and the bias experiment.
  void v3Gallery() {
    if (folder().isEmpty()) QSKIP("set MOESCOPE_GALLERY=folder to take the README's screenshots");
    MainWindow window;
    open(window, "deepseekv3-tiny");
    QVERIFY(window_steps::generate(window, 30, QStringLiteral("In the beginning God created")));
    RoutingDocument* document = window.document();
    document->setSelectedToken(generatedWord(*document, false));
    save(&window, "v3-inspector");

    moescope::Interventions raw;
    raw.select_without_bias = true;
    compare(window, raw, "v3-compare");
    experiment(window, "bias", true, 256, nullptr, "v3-experiment");
  }

 private:
  static QString folder() { return qEnvironmentVariable("MOESCOPE_GALLERY"); }

  // The window at the gallery's size with a bundled model loaded.
  static void open(MainWindow& window, const char* model) {
    window.resize(screenshot_look::size({1280, 720}));
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(window_steps::load(
        window, QStringLiteral(MOESCOPE_RESOURCES_DIR "/models/") + QLatin1String(model)));
  }

  // Compare with `switches`, a token they changed selected.
  static void compare(MainWindow& window, const moescope::Interventions& switches,
                      const char* name) {
    window.findChild<ExpertMaskPanel*>()->setInterventions(switches);
    QSignalSpy finished(window.controller(), &InferenceController::runFinished);
    window.compareWithExpertsOff();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, timeoutMs);
    window.document()->setSelectedToken(generatedWord(*window.document(), true));
    QVERIFY(QTest::qWaitForWindowExposed(window.compareView()));
    save(window.compareView(), name);
  }

  // The Experiments window on `name` (its bundled models when `bundled`), saved before the
  // run when `before` is set and after it.
  static void experiment(MainWindow& window, const char* name, bool bundled, int tokens,
                         const char* before, const char* after) {
    ExperimentPanel* panel = window.experimentPanel();
    panel->resize(screenshot_look::size({1280, 720}));
    window.showExperiments();
    QVERIFY(QTest::qWaitForWindowExposed(panel));
    panel->select(QLatin1String(name), bundled);
    panel->setTokensPerText(tokens);
    if (before) save(panel, before);
    panel->run();
    QTRY_VERIFY_WITH_TIMEOUT(panel->result() != nullptr, timeoutMs);
    save(panel, after);
  }

  // <folder>/<name>-<width>x<height>-<light|dark>.png, once queued replots are drawn.
  static void save(QWidget* widget, const char* name) {
    QTest::qWait(400);
    const QSize size = screenshot_look::size({1280, 720});
    const QString path = folder() + QStringLiteral("/%1-%2x%3-%4.png")
                                        .arg(QLatin1String(name))
                                        .arg(size.width())
                                        .arg(size.height())
                                        .arg(screenshot_look::dark() ? "dark" : "light");
    QVERIFY(widget->grab().save(path));
    qInfo("%s", qPrintable(path));
  }
};

QTEST_MAIN(TestScreenshotGallery)
#include "test_screenshot_gallery.moc"
