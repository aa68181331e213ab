#include "panels/lesson_panel.h"

#include <QComboBox>
#include <QPushButton>
#include <QTextBrowser>
#include <QVBoxLayout>

LessonPanel::LessonPanel(QWidget* parent)
    : QWidget(parent),
      lessonBox_(new QComboBox(this)),
      text_(new QTextBrowser(this)),
      stepButtons_(new QVBoxLayout) {
  QString error;
  lessons_ = loadLessons(QStringLiteral(":/lessons/lessons.json"), &error);
  for (const Lesson& l : lessons_) lessonBox_->addItem(l.title);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(lessonBox_);
  layout->addWidget(text_, 1);
  layout->addLayout(stepButtons_);
  if (!error.isEmpty()) text_->setPlainText(tr("The lessons could not be read: %1").arg(error));
  connect(lessonBox_, &QComboBox::currentIndexChanged, this, &LessonPanel::showLesson);
  showLesson(0);
}

void LessonPanel::showLesson(int index) {
  if (index < 0 || index >= lessons_.size()) return;
  if (lessonBox_->currentIndex() != index) return lessonBox_->setCurrentIndex(index);
  while (QLayoutItem* item = stepButtons_->takeAt(0)) {
    delete item->widget();
    delete item;
  }
  const Lesson& lesson = lessons_[index];
  text_->setHtml(lesson.intro + tr("<p><i>Press the steps below in order.</i></p>"));
  for (int s = 0; s < lesson.steps.size(); ++s) {
    auto* button =
        new QPushButton(QStringLiteral("%1. %2").arg(s + 1).arg(lesson.steps[s].title), this);
    button->setStyleSheet(QStringLiteral("text-align: left; padding: 4px 8px"));
    connect(button, &QPushButton::clicked, this, [this, index, s] { showStep(index, s); });
    stepButtons_->addWidget(button);
  }
}

void LessonPanel::showStep(int lesson, int step) {
  const LessonStep& s = lessons_[lesson].steps[step];
  text_->setHtml(lessons_[lesson].intro +
                 QStringLiteral("<h3>%1. %2</h3>").arg(step + 1).arg(s.title.toHtmlEscaped()) +
                 s.text);
  emit stepRequested(s);
}
