// File ▸ Connect to Server against the loopback contract server (tests/contract):
// the dialog lists the server's models off the GUI thread, says why when it
// cannot, keeps the API key in the keyring or, without one, in the settings with
// a warning; the window then generates on the server, names it, and turns the
// engine-only controls off with the reason.
// With MOESCOPE_GALLERY=folder it also saves server-dialog-1280x720-light.png and
// served-run-1280x720-light.png there (xvfb-run -a -s "-screen 0 1920x1080x24").
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTest>

#include "contract/contract_server.h"
#include "document/routing_document.h"
#include "panels/expert_mask_panel.h"
#include "panels/prompt_panel.h"
#include "support/lateness_probe.h"
#include "support/screenshot_look.h"
#include "threads/inference_controller.h"
#include "ui/window/window_steps.h"
#include "window/main_window.h"
#include "window/server_dialog.h"

using moescope::ServerEngine;
using moescope::test::ContractServer;
using moescope::test::Fault;

namespace {

const QString fixtureDir = QStringLiteral(MOESCOPE_FIXTURES_DIR "/models/dense-lead-f32");
constexpr int timeoutMs = 30000;

ServerJob jobFor(const ContractServer& server, const QString& key = {}) {
  ServerJob job;
  job.url = QString::fromStdString(server.url());
  job.engine = QStringLiteral("vllm");
  job.model = QStringLiteral("tiny");
  job.configPath = fixtureDir + QStringLiteral("/config.json");
  job.tokenizerPath = fixtureDir + QStringLiteral("/tokenizer.json");
  job.apiKey = key;
  return job;
}

template <typename T>
T* child(QWidget& parent, const char* name) {
  return parent.findChild<T*>(QString::fromLatin1(name));
}

QString gallerySuffix() {
  const QSize size = screenshot_look::size({1280, 720});
  return QStringLiteral("-%1x%2-%3.png")
      .arg(size.width())
      .arg(size.height())
      .arg(screenshot_look::dark() ? "dark" : "light");
}

}  // namespace

class TestServedWindow : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QApplication::setOrganizationName(QStringLiteral("moescope-test"));
    QApplication::setApplicationName(QStringLiteral("moescope-served"));
    QSettings().clear();
    applyClassroomLook();
    screenshot_look::applyDarkPaletteIfAsked();
  }

  void connectNeedsUrlModelAndConfig() {
    ServerDialog dialog;
    dialog.setJob({});
    auto* connect = dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
    QVERIFY(!connect->isEnabled());
    ServerJob job;
    job.url = QStringLiteral("http://127.0.0.1:1");
    job.model = QStringLiteral("tiny");
    dialog.setJob(job);
    QVERIFY(!connect->isEnabled());  // no config.json yet
    job.configPath = fixtureDir;
    dialog.setJob(job);
    QVERIFY(connect->isEnabled());
  }

  // The list comes from a worker: the GUI thread keeps turning while it is asked for.
  void modelsFetchedOffTheGuiThread() {
    ContractServer server(ServerEngine::vllm, Fault::none, "secret");
    ServerDialog dialog;
    ServerJob job = jobFor(server, QStringLiteral("secret"));
    job.model.clear();
    dialog.setJob(job);
    QSignalSpy fetched(&dialog, &ServerDialog::modelsFetched);
    LatenessProbe probe;
    probe.start();
    child<QPushButton>(dialog, "fetchModels")->click();
    QVERIFY(fetched.wait(timeoutMs));
    QVERIFY(fetched.first().first().toBool());
    QVERIFY2(probe.worstMs() < 200, qPrintable(QString::number(probe.worstMs())));
    auto* models = child<QComboBox>(dialog, "serverModel");
    QCOMPARE(models->count(), 1);
    QCOMPARE(models->currentText(), QStringLiteral("tiny"));
    QVERIFY(child<QLabel>(dialog, "fetchStatus")->text().contains(QStringLiteral("1 model")));
  }

  void fetchFailureSaysWhy() {
    ContractServer server(ServerEngine::vllm, Fault::none, "secret");
    ServerDialog dialog;
    dialog.setJob(jobFor(server));  // no key
    QSignalSpy fetched(&dialog, &ServerDialog::modelsFetched);
    dialog.fetchModels();
    QVERIFY(fetched.wait(timeoutMs));
    QVERIFY(!fetched.first().first().toBool());
    const QString status = child<QLabel>(dialog, "fetchStatus")->text();
    QVERIFY2(status.contains(QStringLiteral("HTTP 401")), qPrintable(status));
  }

  // Without a keyring (the test machine's case) the key goes to the settings file
  // and the dialog says so; with one, the settings hold no copy. Either way the
  // next dialog for that server finds it.
  void apiKeyKeptForTheServer() {
    const QString url = QStringLiteral("http://127.0.0.1:9/keyed");
    {
      ServerDialog dialog;
      ServerJob job;
      job.url = url;
      job.model = QStringLiteral("tiny");
      job.configPath = fixtureDir;
      job.apiKey = QStringLiteral("s3cret");
      dialog.setJob(job);
      QSignalSpy done(&dialog, &QDialog::accepted);
      dialog.accept();
      QVERIFY(done.wait(timeoutMs));
      const bool inSettings =
          !QSettings().allKeys().filter(QStringLiteral("serverKeys/")).isEmpty();
      QCOMPARE(!dialog.keyWarning().isEmpty(), inSettings);
      if (inSettings) QVERIFY(dialog.keyWarning().contains(QStringLiteral("plain text")));
    }
    ServerDialog again;  // opens on the last connection, its key read back
    auto* key = child<QLineEdit>(again, "apiKey");
    QTRY_COMPARE_WITH_TIMEOUT(key->text(), QStringLiteral("s3cret"), timeoutMs);
    QCOMPARE(child<QLineEdit>(again, "serverUrl")->text(), url);
    QCOMPARE(key->echoMode(), QLineEdit::Password);
  }

  void windowGeneratesOnTheServer() {
    ContractServer server(ServerEngine::vllm, Fault::none, "secret");
    MainWindow window;
    window.resize(screenshot_look::size({1280, 720}));
    window.show();
    QSignalSpy loaded(window.controller(), &InferenceController::modelLoaded);
    window.connectToServer(jobFor(server, QStringLiteral("secret")));
    QVERIFY(loaded.wait(timeoutMs));
    QVERIFY(window.controller()->server());

    // The engine-only controls are off, and say why.
    auto* masks = window.findChild<ExpertMaskPanel*>();
    QVERIFY(!masks->isEnabled());
    QVERIFY(masks->toolTip().contains(QStringLiteral("needs the local engine")));
    auto* masksDock = child<QDockWidget>(window, "masksDock");
    QVERIFY(masksDock->windowTitle().contains(QStringLiteral("needs the local engine")));
    QVERIFY(!window.promptPanel()->chatMode());

    QVERIFY(window_steps::generate(window, 6, QStringLiteral("The router sends")));
    QVERIFY(server.last_completion_request()["prompt"] == "The router sends");
    const auto& snapshot = window.document()->snapshot();
    QVERIFY(snapshot.routing_detail == moescope::RoutingDetail::ids_only);
    QVERIFY(window.document()->tokenCount() > 6);
    // Which server and model: the title, the line above the tokens, the status bar.
    const QString url = QString::fromStdString(server.url());
    QVERIFY2(window.windowTitle().contains(url), qPrintable(window.windowTitle()));
    QVERIFY(child<QLabel>(window, "screenLabel")->text().contains(url));
    QVERIFY(child<QLabel>(window, "modelLabel")->text().contains(QStringLiteral("tiny")));

    // Compare is refused plainly, not run with nothing switched off.
    window.compareWithExpertsOff();
    QCOMPARE(server.completion_requests(), 1);

    const QString folder = qEnvironmentVariable("MOESCOPE_GALLERY");
    if (!folder.isEmpty()) {
      document_select_last(window);
      QTest::qWait(300);
      QVERIFY(window.grab().save(folder + QStringLiteral("/served-run") + gallerySuffix()));
      ServerDialog dialog(&window);
      dialog.setJob(jobFor(server, QStringLiteral("secret")));
      dialog.show();
      QSignalSpy fetched(&dialog, &ServerDialog::modelsFetched);
      dialog.fetchModels();
      QVERIFY(fetched.wait(timeoutMs));
      QTest::qWait(200);
      QVERIFY(dialog.grab().save(folder + QStringLiteral("/server-dialog") + gallerySuffix()));
    }
  }

 private:
  static void document_select_last(MainWindow& window) {
    window.document()->setSelectedToken(window.document()->tokenCount() - 2);
  }
};

QTEST_MAIN(TestServedWindow)
#include "test_served_window.moc"
