#pragma once
// The look the screenshot suites grab the window in: MOESCOPE_DARK=1 sets a
// dark system palette, to see the window as a dark desktop shows it.
#include <QApplication>
#include <QPalette>

namespace screenshot_look {

inline bool dark() {
  return qEnvironmentVariableIntValue("MOESCOPE_DARK") != 0;
}

inline void applyDarkPaletteIfAsked() {
  if (!dark()) return;
  QPalette palette;
  palette.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
  palette.setColor(QPalette::WindowText, QColor(0xe6, 0xe6, 0xe6));
  palette.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
  palette.setColor(QPalette::AlternateBase, QColor(0x33, 0x33, 0x33));
  palette.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
  palette.setColor(QPalette::Button, QColor(0x35, 0x35, 0x35));
  palette.setColor(QPalette::ButtonText, QColor(0xe6, 0xe6, 0xe6));
  palette.setColor(QPalette::Highlight, QColor(0x3d, 0x7a, 0xd6));
  palette.setColor(QPalette::HighlightedText, Qt::white);
  palette.setColor(QPalette::ToolTipBase, QColor(0x35, 0x35, 0x35));
  palette.setColor(QPalette::ToolTipText, QColor(0xe6, 0xe6, 0xe6));
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    palette.setColor(QPalette::Disabled, role, QColor(0x80, 0x80, 0x80));
  QApplication::setPalette(palette);
}

// MOESCOPE_SCREENSHOT_SIZE=1280x720, or `fallback`.
inline QSize size(const QSize& fallback) {
  const QStringList parts = qEnvironmentVariable("MOESCOPE_SCREENSHOT_SIZE").split('x');
  return parts.size() == 2 ? QSize(parts[0].toInt(), parts[1].toInt()) : fallback;
}

}  // namespace screenshot_look
