#include "window/api_key_store.h"

#include <qt6keychain/keychain.h>

#include <QSettings>

namespace {

const auto service = QStringLiteral("moescope");

QString settingsKey(const QString& server) {
  // QSettings treats '/' as a group separator: keep the URL as one key.
  return QStringLiteral("serverKeys/") +
         QString::fromLatin1(server.toUtf8().toBase64(QByteArray::Base64UrlEncoding));
}

// The keyring failed for want of a keyring, not because the entry is absent.
bool keyringUnavailable(QKeychain::Error error) {
  return error != QKeychain::NoError && error != QKeychain::EntryNotFound;
}

}  // namespace

QString ApiKeyStore::plainTextWarning() {
  return tr(
      "No system keyring answered: the API key is kept in plain text in moescope's "
      "settings file.");
}

void ApiKeyStore::read(const QString& server) {
  auto* job = new QKeychain::ReadPasswordJob(service, this);
  job->setKey(server);
  connect(job, &QKeychain::Job::finished, this, [this, job, server] {
    const QString key = keyringUnavailable(job->error())
                            ? QSettings().value(settingsKey(server)).toString()
                            : job->textData();
    emit keyRead(server, key);
  });
  job->start();  // deletes itself once finished has been sent
}

void ApiKeyStore::write(const QString& server, const QString& key) {
  QKeychain::Job* job = nullptr;
  if (key.isEmpty()) {
    job = new QKeychain::DeletePasswordJob(service, this);
  } else {
    auto* writeJob = new QKeychain::WritePasswordJob(service, this);
    writeJob->setTextData(key);
    job = writeJob;
  }
  job->setKey(server);
  connect(job, &QKeychain::Job::finished, this, [this, job, server, key] {
    QSettings settings;
    const bool inKeyring = !keyringUnavailable(job->error());
    if (inKeyring || key.isEmpty())
      settings.remove(settingsKey(server));  // no copy left behind in plain text
    else
      settings.setValue(settingsKey(server), key);
    emit written(server, inKeyring || key.isEmpty());
  });
  job->start();
}
