#pragma once
// File ▸ Connect to Server…: a vLLM or SGLang server with routing capture on, the
// model it serves (offered from its /v1/models, asked for on a worker thread), the
// model's config.json and tokenizer.json (the server sends neither), and an API
// key kept in the system keyring (ApiKeyStore). Remembers the last connection.
#include <QDialog>
#include <QFutureWatcher>
#include <variant>

#include "jobs/server_job.h"

class ApiKeyStore;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPushButton;

// The models a server names, or why they could not be had.
using ServedModelList = std::variant<QStringList, QString>;

class ServerDialog : public QDialog {
  Q_OBJECT

 public:
  explicit ServerDialog(QWidget* parent = nullptr);

  ServerJob job() const;
  void setJob(const ServerJob& job);  // fills the fields (tests, and the last connection)

  // Asks the server for its models off the GUI thread; modelsFetched when done.
  // The request holds a copy of the fields, so closing the dialog need not wait.
  void fetchModels();

  void accept() override;  // remembers the connection and stores the key, then closes
  // After accept: empty, or the warning that no keyring answered and the key is
  // in the settings file in plain text (the window shows it).
  const QString& keyWarning() const { return keyWarning_; }

 signals:
  void modelsFetched(bool ok);

 private:
  QLineEdit* addPathRow(class QFormLayout* form, const QString& label, const QString& name,
                        const QString& filter);
  void showModels();
  void updateConnectButton();

  QLineEdit* url_;
  QComboBox* engine_;
  QComboBox* model_;
  QPushButton* fetchButton_;
  QLabel* fetchStatus_;
  QLineEdit* config_;
  QLineEdit* tokenizer_;
  QLineEdit* apiKey_;
  QString keyWarning_;
  QDialogButtonBox* buttons_;
  ApiKeyStore* keys_;
  QFutureWatcher<ServedModelList>* fetcher_;
};
