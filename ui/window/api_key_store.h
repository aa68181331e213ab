#pragma once
// A served model's API key, per server URL: in the system keyring (Secret
// Service, KWallet, macOS Keychain, Windows Credential Store via qtkeychain), or,
// where no keyring answers, in moescope's settings file with a warning that it
// is stored there in plain text. The keyring's calls are asynchronous: the GUI
// thread never waits on them.
#include <QObject>
#include <QString>

class ApiKeyStore : public QObject {
  Q_OBJECT

 public:
  explicit ApiKeyStore(QObject* parent = nullptr) : QObject(parent) {}

  void read(const QString& server);                       // then keyRead
  void write(const QString& server, const QString& key);  // then written; empty key: forget it

  // The words the dialog shows for where a key went (empty: the keyring).
  static QString plainTextWarning();

 signals:
  void keyRead(const QString& server, const QString& key);  // empty when none is stored
  // inKeyring false: the keyring was unavailable and the key is in the settings file.
  void written(const QString& server, bool inKeyring);
};
