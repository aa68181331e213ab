#pragma once
// A saved window geometry on today's screen: a layout saved on a 4K monitor
// must not open a window larger than a 1280×720 projector, or off it.
#include <QRect>

namespace ScreenFit {

// `window` moved (and shrunk if needed) to lie inside `available`.
QRect fitInside(const QRect& window, const QRect& available);

}  // namespace ScreenFit
