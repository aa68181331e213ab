#pragma once
// Guided lessons (resources/lessons/lessons.json): each step says what to set
// up — model, prompt, sampling, expert switches, view — and what to run.
#include <QString>
#include <QVector>

struct LessonStep {
  QString title;
  QString text;               // HTML shown while the step is active
  QString model;              // a bundled model's name; empty keeps the loaded one
  QString prompt;             // empty keeps the prompt box
  int maxTokens = 0;          // 0 keeps the setting
  double temperature = -1.0;  // < 0 keeps the setting
  int seed = -1;              // < 0 keeps the setting
  bool clearMasks = false;
  QString disable;          // --disable spelling, e.g. "all:5,1:7"
  QString disableShared;    // --disable-shared spelling, e.g. "all"
  int topK = 0;             // 0: the model's k
  int disableMostUsed = 0;  // switch off the n most used experts of each layer in the last run
  bool selectWithoutBias = false;  // DeepSeek-V3: the raw scores select
  QString action;                  // "generate", "compare", "experiment" or empty
  QString experiment;              // catalogue name for "experiment" (run on the bundled pair)
  QString view;                    // object name of the dock to raise
  QString loadMode;                // expert load heatmap: "counts", "gate" or "balance"
  bool selectLastToken = false;    // select the run's last token for the inspector
};

struct Lesson {
  QString title;
  QString intro;  // HTML
  QVector<LessonStep> steps;
};

// Parses the lessons file; on failure returns no lessons and sets `error`
// to a message naming the file and the field.
QVector<Lesson> loadLessons(const QString& path, QString* error);
