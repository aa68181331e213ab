#include "panels/help_panel.h"

#include <QFile>

HelpPanel::HelpPanel(QWidget* parent) : QTextBrowser(parent) {
  setOpenExternalLinks(true);
  QFile page(QStringLiteral(":/help/what-am-i-looking-at.html"));
  if (page.open(QIODevice::ReadOnly))
    setHtml(QString::fromUtf8(page.readAll()));
  else
    setPlainText(tr("The help page is missing from this build (resources.qrc)."));
}
