#include "document/token_format.h"

#include <QStringList>

namespace TokenFormat {

QString displayText(const std::string& piece) {
  QString text = QString::fromStdString(piece);
  text.replace(QLatin1Char('\r'), QString());
  text.replace(QLatin1Char('\t'), QStringLiteral("\u2192"));
  text.replace(QLatin1Char('\n'), QStringLiteral("\u21b5"));
  if (!text.isEmpty() && text.trimmed().isEmpty()) text.fill(QChar(0x00b7));
  return text;
}

PieceKind kindOf(const moescope::SnapshotToken& token) {
  if (!token.text.empty()) return PieceKind::text;
  return token.routing.position == 0 && token.routing.is_prompt ? PieceKind::special
                                                                : PieceKind::byte;
}

QString kindName(PieceKind kind) {
  switch (kind) {
    case PieceKind::text:
      return QStringLiteral("text");
    case PieceKind::special:
      return QStringLiteral("special");
    case PieceKind::byte:
      return QStringLiteral("byte");
  }
  return {};
}

QString chipText(const moescope::SnapshotToken& token) {
  const PieceKind kind = kindOf(token);
  if (kind == PieceKind::special) return QStringLiteral("\u27e8BOS\u27e9");
  const QString text = displayText(token.text);
  if (kind == PieceKind::text && !text.isEmpty()) return text;
  return QStringLiteral("\u27e8id %1\u27e9").arg(token.routing.token_id);  // a bare "\r" too
}

bool endsLine(const std::string& piece) {
  return piece.find('\n') != std::string::npos;
}

const moescope::LayerRouting* findLayer(const moescope::TokenRouting& routing, int layer) {
  for (const auto& record : routing.layers)
    if (record.layer == layer) return &record;
  return nullptr;
}

QString weightText(float weight) {
  return QString::number(weight, 'g', 2);
}

QString routingTooltip(const std::string& piece, const moescope::TokenRouting& routing) {
  QStringList rows;
  rows << QStringLiteral("<b>%1</b> &nbsp; id %2 · position %3 · %4")
              .arg(chipText({piece, routing}).toHtmlEscaped())
              .arg(routing.token_id)
              .arg(routing.position)
              .arg(routing.is_prompt ? QStringLiteral("prompt") : QStringLiteral("generated"));
  for (const auto& layer : routing.layers) {
    QStringList experts;
    for (std::size_t j = 0; j < layer.expert_ids.size(); ++j)
      experts << QStringLiteral("e%1 %2")
                     .arg(layer.expert_ids[j])
                     .arg(j < layer.gate_weights.size() ? weightText(layer.gate_weights[j])
                                                        : QStringLiteral("#%1").arg(j + 1));
    rows << QStringLiteral("L%1: %2%3")
                .arg(layer.layer)
                .arg(experts.join(QStringLiteral(", ")))
                .arg(layer.mask_changed ? QStringLiteral(" <i>(mask changed)</i>") : QString());
  }
  if (piece.empty() && routing.position > 0)
    rows << QStringLiteral(
        "<i>no text of its own: bytes of a character the next token completes</i>");
  return QStringLiteral("<p style='white-space:pre'>%1</p>").arg(rows.join(QStringLiteral("<br>")));
}

}  // namespace TokenFormat
