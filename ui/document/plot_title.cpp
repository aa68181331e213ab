#include "document/plot_title.h"

#include <QStringList>

#include "document/token_format.h"

namespace PlotTitle {

QString of(const moescope::RoutingSnapshot& run, const QString& what, int promptChars) {
  QStringList parts;
  if (!run.model_name.empty()) parts << QString::fromStdString(run.model_name);
  QString prompt = TokenFormat::displayText(run.prompt).simplified();
  if (prompt.size() > promptChars) prompt = prompt.left(promptChars - 1).trimmed() + QChar(0x2026);
  if (!prompt.isEmpty()) parts << QStringLiteral("“%1”").arg(prompt);
  if (!what.isEmpty()) parts << what;
  return parts.join(QStringLiteral(" · "));
}

}  // namespace PlotTitle
