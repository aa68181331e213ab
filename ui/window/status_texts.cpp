#include "window/status_texts.h"

#include <QCoreApplication>
#include <QRegularExpression>

namespace StatusTexts {
namespace {

QString tr(const char* text) {
  return QCoreApplication::translate("StatusTexts", text);
}

}  // namespace

QString runFinished(const RunStats& stats, int contextLength) {
  QString text = tr("%1 tokens").arg(stats.generatedTokens);
  if (stats.generatedTokens > 0 && stats.decodeSeconds > 0)
    text += tr(" · %1 tokens/s").arg(stats.tokensPerSecond, 0, 'f', 1);
  if (stats.promptTokens > 0)
    text += tr(" · prompt %1 in %2 s")
                .arg(stats.promptTokens)
                .arg(stats.prefillSeconds, 0, 'f', stats.prefillSeconds < 0.1 ? 3 : 2);
  const QString stopped = stats.stopReason == QLatin1String("context full")
                              ? tr("the model's context (%1 tokens) is full").arg(contextLength)
                              : stats.stopReason;
  return text + tr(" · stopped: %1").arg(stopped);
}

QString plainError(const QString& message) {
  static const QRegularExpression tag(QStringLiteral("\\[json\\.exception\\.[a-z_]+\\.\\d+\\] "));
  return QString(message).remove(tag);
}

}  // namespace StatusTexts
