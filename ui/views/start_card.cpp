#include "views/start_card.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

StartCard::StartCard(QWidget* parent) : QFrame(parent) {
  setObjectName(QStringLiteral("startCard"));
  auto* title =
      new QLabel(tr("See which experts a Mixture-of-Experts model uses, token by token"), this);
  QFont large = title->font();
  large.setPointSizeF(large.pointSizeF() * 1.2);
  large.setBold(true);
  title->setFont(large);
  title->setWordWrap(true);
  auto* lesson = new QPushButton(tr("Try a lesson: 1. What is an expert?"), this);
  lesson->setObjectName(QStringLiteral("tryLessonButton"));
  lesson->setDefault(true);
  connect(lesson, &QPushButton::clicked, this, &StartCard::lessonRequested);

  // Compact, so that all of it shows in the text area at 1280×720.
  auto* first = new QHBoxLayout;
  first->addWidget(lesson);
  first->addWidget(new QLabel(tr("…or generate from an example:"), this));
  first->addStretch();
  auto* prompts = new QHBoxLayout;
  int n = 0;
  for (const QString& prompt : examplePrompts()) {
    auto* button = new QPushButton(QStringLiteral("“%1”").arg(prompt), this);
    button->setObjectName(QStringLiteral("examplePrompt%1").arg(n++));
    connect(button, &QPushButton::clicked, this, [this, prompt] { emit promptChosen(prompt); });
    prompts->addWidget(button);
  }
  prompts->addStretch();
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(12, 6, 12, 6);
  layout->addWidget(title);
  layout->addLayout(first);
  layout->addLayout(prompts);
  layout->addStretch();
}

QStringList StartCard::examplePrompts() {
  return {QStringLiteral("Once upon a time, a little robot"), QStringLiteral("def fibonacci(n):"),
          QStringLiteral("Und Gott sprach: Es werde Licht!")};
}
