#pragma once
// "What am I looking at?": a plain-words page for a class, from the app's
// Qt resources (resources/help/what-am-i-looking-at.html).
#include <QTextBrowser>

class HelpPanel : public QTextBrowser {
  Q_OBJECT

 public:
  explicit HelpPanel(QWidget* parent = nullptr);
};
