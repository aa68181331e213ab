// moescope: opens the main window and loads a model (the default one, or a
// model directory / routing snapshot named on the command line).
#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>

#include "model/default_model.h"
#include "window/main_window.h"

int main(int argc, char* argv[]) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("moescope"));
  QApplication::setApplicationName(QStringLiteral("moescope"));
  QApplication::setApplicationVersion(QStringLiteral(MOESCOPE_VERSION));
  applyClassroomLook();

  QCommandLineParser parser;
  parser.setApplicationDescription(
      QStringLiteral("Explore which experts a Mixture-of-Experts model uses, token by token."));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("path"),
                               QStringLiteral("A model directory or a routing snapshot (.json)."));
  parser.process(app);

  MainWindow window;
  window.show();
  const QStringList args = parser.positionalArguments();
  const QString path = args.isEmpty() ? QString::fromStdString(moescope::default_model_dir().string()) : args.first();
  if (QFileInfo(path).isFile())
    window.openSnapshot(path);  // no model needed to redraw a snapshot
  else
    window.openModel(path);
  return app.exec();
}
