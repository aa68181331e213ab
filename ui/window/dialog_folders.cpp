#include "window/dialog_folders.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

#include "model/default_model.h"

namespace DialogFolders {
namespace {

QString key(Kind kind) {
  return kind == Kind::model ? QStringLiteral("dialogs/modelFolder")
                             : QStringLiteral("dialogs/snapshotFolder");
}

QString fallback(Kind kind) {
  if (kind == Kind::model) {
    const QString bundled =
        QString::fromStdString(moescope::default_model_dir().parent_path().string());
    if (QFileInfo(bundled).isDir()) return bundled;
  }
  return QDir::homePath();
}

}  // namespace

QString start(Kind kind) {
  const QString saved = QSettings().value(key(kind)).toString();
  return !saved.isEmpty() && QFileInfo(saved).isDir() ? saved : fallback(kind);
}

void remember(Kind kind, const QString& path) {
  const QFileInfo info(path);
  QSettings().setValue(key(kind), info.isDir() ? info.absoluteFilePath() : info.absolutePath());
}

}  // namespace DialogFolders
