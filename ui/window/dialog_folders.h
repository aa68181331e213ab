#pragma once
// Where the file dialogs start: the folder last used for that kind of file,
// kept between runs; at first the bundled models (models) or the home folder.
#include <QString>

namespace DialogFolders {

enum class Kind { model, snapshot };

QString start(Kind kind);
// Remembers the folder of `path` (a file) or `path` itself (a folder).
void remember(Kind kind, const QString& path);

}  // namespace DialogFolders
