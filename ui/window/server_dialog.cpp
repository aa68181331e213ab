#include "window/server_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QtConcurrent>

#include "core/error.h"
#include "threads/served_worker.h"
#include "window/api_key_store.h"
#include "window/status_texts.h"

namespace {

const auto lastKey = QStringLiteral("server/last");

ServedModelList listModels(const ServerJob& job) {
  try {
    return fetchServedModels(job);
  } catch (const moescope::EngineError& e) {
    return QString::fromStdString(e.what());
  }
}

}  // namespace

ServerDialog::ServerDialog(QWidget* parent)
    : QDialog(parent),
      url_(new QLineEdit),
      engine_(new QComboBox),
      model_(new QComboBox),
      fetchButton_(new QPushButton(tr("Ask the server"))),
      fetchStatus_(new QLabel),
      config_(nullptr),
      tokenizer_(nullptr),
      apiKey_(new QLineEdit),
      buttons_(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel)),
      keys_(new ApiKeyStore(this)),
      fetcher_(new QFutureWatcher<ServedModelList>(this)) {
  setWindowTitle(tr("Connect to Server"));
  auto* form = new QFormLayout(this);
  auto* intro =
      new QLabel(tr("A vLLM or SGLang server started with "
                    "--enable-return-routed-experts. Generate then runs on it and "
                    "its routing fills the same views as a local run."));
  intro->setWordWrap(true);
  form->addRow(intro);

  url_->setObjectName(QStringLiteral("serverUrl"));
  url_->setPlaceholderText(QStringLiteral("http://host:8000"));
  form->addRow(tr("Server &URL:"), url_);
  engine_->setObjectName(QStringLiteral("serverEngine"));
  engine_->addItem(QStringLiteral("vLLM"), QStringLiteral("vllm"));
  engine_->addItem(QStringLiteral("SGLang"), QStringLiteral("sglang"));
  form->addRow(tr("&Engine:"), engine_);

  model_->setObjectName(QStringLiteral("serverModel"));
  model_->setEditable(true);
  model_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
  fetchButton_->setObjectName(QStringLiteral("fetchModels"));
  auto* modelRow = new QHBoxLayout;
  modelRow->addWidget(model_, 1);
  modelRow->addWidget(fetchButton_);
  form->addRow(tr("&Model:"), modelRow);
  fetchStatus_->setObjectName(QStringLiteral("fetchStatus"));
  fetchStatus_->setWordWrap(true);
  form->addRow(QString(), fetchStatus_);

  config_ = addPathRow(form, tr("&config.json:"), QStringLiteral("serverConfig"),
                       tr("Model config (config.json)"));
  config_->setPlaceholderText(tr("the served model's architecture (required)"));
  tokenizer_ = addPathRow(form, tr("&tokenizer.json:"), QStringLiteral("serverTokenizer"),
                          tr("Tokenizer (tokenizer.json)"));
  tokenizer_->setPlaceholderText(tr("optional: token texts (else beside config.json)"));

  apiKey_->setObjectName(QStringLiteral("apiKey"));
  apiKey_->setEchoMode(QLineEdit::Password);
  apiKey_->setPlaceholderText(tr("optional; kept in the system keyring"));
  form->addRow(tr("API &key:"), apiKey_);

  buttons_->button(QDialogButtonBox::Ok)->setText(tr("Connect"));
  form->addRow(buttons_);
  connect(buttons_, &QDialogButtonBox::accepted, this, &ServerDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(fetchButton_, &QPushButton::clicked, this, &ServerDialog::fetchModels);
  connect(fetcher_, &QFutureWatcher<ServedModelList>::finished, this, &ServerDialog::showModels);
  for (QLineEdit* edit : {url_, config_})
    connect(edit, &QLineEdit::textChanged, this, &ServerDialog::updateConnectButton);
  connect(model_, &QComboBox::currentTextChanged, this, &ServerDialog::updateConnectButton);
  // The stored key of the server as it is typed in, when the user has typed none.
  connect(url_, &QLineEdit::editingFinished, this, [this] {
    if (apiKey_->text().isEmpty()) keys_->read(url_->text().trimmed());
  });
  connect(keys_, &ApiKeyStore::keyRead, this, [this](const QString& server, const QString& key) {
    if (server == url_->text().trimmed() && apiKey_->text().isEmpty()) apiKey_->setText(key);
  });
  connect(keys_, &ApiKeyStore::written, this, [this](const QString&, bool inKeyring) {
    keyWarning_ = inKeyring ? QString() : ApiKeyStore::plainTextWarning();
    QDialog::accept();
  });

  const QSettings settings;
  ServerJob last;
  last.url = settings.value(lastKey + QStringLiteral("/url")).toString();
  last.engine = settings.value(lastKey + QStringLiteral("/engine"), last.engine).toString();
  last.model = settings.value(lastKey + QStringLiteral("/model")).toString();
  last.configPath = settings.value(lastKey + QStringLiteral("/config")).toString();
  last.tokenizerPath = settings.value(lastKey + QStringLiteral("/tokenizer")).toString();
  setJob(last);
  if (!last.url.isEmpty()) keys_->read(last.url);
  resize(640, sizeHint().height());
}

QLineEdit* ServerDialog::addPathRow(QFormLayout* form, const QString& label, const QString& name,
                                    const QString& filter) {
  auto* edit = new QLineEdit;
  edit->setObjectName(name);
  auto* browse = new QPushButton(tr("Browse…"));
  connect(browse, &QPushButton::clicked, this, [this, edit, filter] {
    const QString path = QFileDialog::getOpenFileName(this, filter, edit->text(),
                                                      filter + QStringLiteral(" (*.json)"));
    if (!path.isEmpty()) edit->setText(path);
  });
  auto* row = new QHBoxLayout;
  row->addWidget(edit, 1);
  row->addWidget(browse);
  form->addRow(label, row);
  return edit;
}

ServerJob ServerDialog::job() const {
  ServerJob job;
  job.url = url_->text().trimmed();
  job.engine = engine_->currentData().toString();
  job.model = model_->currentText().trimmed();
  job.configPath = config_->text().trimmed();
  job.tokenizerPath = tokenizer_->text().trimmed();
  job.apiKey = apiKey_->text();
  return job;
}

void ServerDialog::setJob(const ServerJob& job) {
  url_->setText(job.url);
  engine_->setCurrentIndex(std::max(0, engine_->findData(job.engine)));
  model_->setCurrentText(job.model);
  config_->setText(job.configPath);
  tokenizer_->setText(job.tokenizerPath);
  apiKey_->setText(job.apiKey);
  updateConnectButton();
}

void ServerDialog::fetchModels() {
  if (fetcher_->isRunning()) return;
  fetchButton_->setEnabled(false);
  fetchStatus_->setText(tr("Asking %1 for its models…").arg(url_->text().trimmed()));
  fetcher_->setFuture(QtConcurrent::run(listModels, job()));
}

void ServerDialog::showModels() {
  fetchButton_->setEnabled(true);
  const ServedModelList answer = fetcher_->result();
  if (const QString* error = std::get_if<QString>(&answer)) {
    fetchStatus_->setText(StatusTexts::plainError(*error));
    emit modelsFetched(false);
    return;
  }
  const QStringList& names = std::get<QStringList>(answer);
  const QString typed = model_->currentText();
  model_->clear();
  model_->addItems(names);
  model_->setCurrentText(names.contains(typed) || names.isEmpty() ? typed : names.front());
  fetchStatus_->setText(names.isEmpty() ? tr("The server serves no model.")
                                        : tr("The server serves %n model(s).", "", names.size()));
  emit modelsFetched(true);
}

void ServerDialog::updateConnectButton() {
  const ServerJob current = job();
  buttons_->button(QDialogButtonBox::Ok)
      ->setEnabled(!current.url.isEmpty() && !current.model.isEmpty() &&
                   !current.configPath.isEmpty());
}

void ServerDialog::accept() {
  const ServerJob current = job();
  QSettings settings;
  settings.setValue(lastKey + QStringLiteral("/url"), current.url);
  settings.setValue(lastKey + QStringLiteral("/engine"), current.engine);
  settings.setValue(lastKey + QStringLiteral("/model"), current.model);
  settings.setValue(lastKey + QStringLiteral("/config"), current.configPath);
  settings.setValue(lastKey + QStringLiteral("/tokenizer"), current.tokenizerPath);
  buttons_->setEnabled(false);
  keys_->write(current.url, current.apiKey);  // closes the dialog once the key is stored
}
