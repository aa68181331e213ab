#include "window/screen_fit.h"

#include <algorithm>

namespace ScreenFit {

QRect fitInside(const QRect& window, const QRect& available) {
  const QSize size(std::min(window.width(), available.width()),
                   std::min(window.height(), available.height()));
  const int x = std::clamp(window.x(), available.left(), available.right() - size.width() + 1);
  const int y = std::clamp(window.y(), available.top(), available.bottom() - size.height() + 1);
  return QRect(QPoint(x, y), size);
}

}  // namespace ScreenFit
