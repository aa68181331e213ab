#pragma once
// What the empty token area shows on first launch: where a newcomer starts —
// Lesson 1, or one of three prompts that route very differently (a story,
// code, German) — instead of a blank box.
#include <QFrame>
#include <QStringList>

class StartCard : public QFrame {
  Q_OBJECT

 public:
  explicit StartCard(QWidget* parent = nullptr);

  static QStringList examplePrompts();

 signals:
  void lessonRequested();
  void promptChosen(const QString& prompt);
};
