#include "panels/lesson.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace {

const QStringList knownActions = {QString(), QStringLiteral("generate"), QStringLiteral("compare"),
                                  QStringLiteral("experiment")};
const QStringList knownLoadModes = {QString(), QStringLiteral("counts"), QStringLiteral("gate"),
                                    QStringLiteral("balance")};

LessonStep parseStep(const QJsonObject& o) {
  LessonStep s;
  s.title = o.value("title").toString();
  s.text = o.value("text").toString();
  s.model = o.value("model").toString();
  s.prompt = o.value("prompt").toString();
  s.maxTokens = o.value("max_tokens").toInt(0);
  s.temperature = o.value("temperature").toDouble(-1.0);
  s.seed = o.value("seed").toInt(-1);
  s.clearMasks = o.value("clear_masks").toBool(false);
  s.disable = o.value("disable").toString();
  s.disableShared = o.value("disable_shared").toString();
  s.topK = o.value("top_k").toInt(0);
  s.disableMostUsed = o.value("disable_most_used").toInt(0);
  s.selectWithoutBias = o.value("select_without_bias").toBool(false);
  s.action = o.value("action").toString();
  s.experiment = o.value("experiment").toString();
  s.view = o.value("view").toString();
  s.loadMode = o.value("load_mode").toString();
  s.selectLastToken = o.value("select_token").toString() == QLatin1String("last");
  return s;
}

}  // namespace

QVector<Lesson> loadLessons(const QString& path, QString* error) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    *error = QStringLiteral("%1: cannot open: %2").arg(path, file.errorString());
    return {};
  }
  QJsonParseError parseError;
  const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parseError);
  if (doc.isNull()) {
    *error = QStringLiteral("%1: %2 at offset %3")
                 .arg(path, parseError.errorString())
                 .arg(parseError.offset);
    return {};
  }
  QVector<Lesson> lessons;
  const QJsonArray list = doc.object().value("lessons").toArray();
  for (int l = 0; l < list.size(); ++l) {
    const QJsonObject o = list[l].toObject();
    Lesson lesson{o.value("title").toString(), o.value("intro").toString(), {}};
    const QJsonArray steps = o.value("steps").toArray();
    for (int s = 0; s < steps.size(); ++s) {
      const LessonStep step = parseStep(steps[s].toObject());
      const QString where = QStringLiteral("%1: lessons[%2].steps[%3]").arg(path).arg(l).arg(s);
      if (step.title.isEmpty())
        *error = where + QStringLiteral(".title: missing");
      else if (!knownActions.contains(step.action))
        *error = where + QStringLiteral(".action: unknown \"%1\"").arg(step.action);
      else if (!knownLoadModes.contains(step.loadMode))
        *error = where + QStringLiteral(".load_mode: unknown \"%1\"").arg(step.loadMode);
      else if (step.action == QLatin1String("experiment") && step.experiment.isEmpty())
        *error = where + QStringLiteral(".experiment: missing");
      if (!error->isEmpty()) return {};
      lesson.steps.append(step);
    }
    if (lesson.title.isEmpty() || lesson.steps.isEmpty()) {
      *error =
          QStringLiteral("%1: lessons[%2]: needs a title and at least one step").arg(path).arg(l);
      return {};
    }
    lessons.append(lesson);
  }
  if (lessons.isEmpty()) *error = QStringLiteral("%1: no lessons").arg(path);
  return lessons;
}
