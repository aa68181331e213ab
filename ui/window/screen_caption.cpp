#include "window/screen_caption.h"

#include <QCoreApplication>

namespace ScreenCaption {
namespace {

QString tr(const char* text) {
  return QCoreApplication::translate("ScreenCaption", text);
}

QString shown(const OnScreen& s) {
  switch (s.kind) {
    case OnScreen::Kind::liveRun:
      return tr("live run of %1").arg(s.runModel);
    case OnScreen::Kind::snapshot:
      return tr("snapshot %1 (%2)").arg(s.snapshotFile, s.runModel);
    case OnScreen::Kind::nothing:
      break;
  }
  return {};
}

// Said whenever Generate would not simply continue what is on screen.
QString generateNote(const OnScreen& s) {
  if (s.generateModel.isEmpty())
    return s.kind == OnScreen::Kind::nothing ? QString() : tr("no model loaded to generate");
  if (s.kind == OnScreen::Kind::liveRun && s.runModel == s.generateModel) return {};
  return tr("Generate uses %1").arg(s.generateModel);
}

}  // namespace

QString windowTitle(const OnScreen& screen) {
  QString title = QStringLiteral("moescope");
  const QString what = shown(screen);
  const QString note = generateNote(screen);
  if (!what.isEmpty()) title += QStringLiteral(" — ") + what;
  if (!note.isEmpty())
    title += (what.isEmpty() ? QStringLiteral(" — ") : QStringLiteral(" · ")) + note;
  return title;
}

QString statusText(const OnScreen& screen) {
  const QString what = shown(screen);
  const QString note = generateNote(screen);
  QString text = what.isEmpty() ? tr("Nothing on screen yet: press Generate or open a snapshot")
                                : tr("On screen: %1").arg(what);
  return note.isEmpty() ? text : text + QStringLiteral(" · ") + note;
}

}  // namespace ScreenCaption
