#pragma once
// The Lessons panel: pick a lesson, read it, and press one button per step;
// the window sets up the model, prompt, switches and view for that step.
#include <QWidget>

#include "panels/lesson.h"

class QComboBox;
class QTextBrowser;
class QVBoxLayout;

class LessonPanel : public QWidget {
  Q_OBJECT

 public:
  explicit LessonPanel(QWidget* parent = nullptr);

  const QVector<Lesson>& lessons() const { return lessons_; }
  void showLesson(int index);

 signals:
  void stepRequested(const LessonStep& step);

 private:
  void showStep(int lesson, int step);

  QVector<Lesson> lessons_;
  QComboBox* lessonBox_;
  QTextBrowser* text_;
  QVBoxLayout* stepButtons_;
};
