#include "window/status_field.h"

#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>

StatusField::StatusField(const QString& text, QWidget* parent) : QLabel(text, parent) {
  setTextFormat(Qt::PlainText);
  setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
}

QSize StatusField::minimumSizeHint() const {
  const QMargins margins = contentsMargins();
  return {
      fontMetrics().horizontalAdvance(QStringLiteral("xxxxxx…")) + margins.left() + margins.right(),
      QLabel::minimumSizeHint().height()};
}

QString StatusField::shownText() const {
  return fontMetrics().elidedText(text(), Qt::ElideRight, contentsRect().width());
}

bool StatusField::isElided() const {
  return shownText() != text();
}

void StatusField::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.setPen(palette().color(foregroundRole()));
  painter.drawText(contentsRect(), int(alignment()), shownText());
}

bool StatusField::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip && isElided()) {
    const QString extra = toolTip().isEmpty() ? QString() : QStringLiteral("\n") + toolTip();
    QToolTip::showText(static_cast<QHelpEvent*>(event)->globalPos(), text() + extra, this);
    return true;
  }
  return QLabel::event(event);
}
