#pragma once
// Views that are not plots — the coloured token text, the Compare view —
// saved as PNG (2x), SVG or PDF, for slides.
#include <QString>

class QWidget;

namespace WidgetExport {

// Renders `widget` at its full size (a scrolled canvas whole, not only the part
// in view); the format follows the extension. Returns an empty string or the
// error message; on failure no file is left at `path`.
QString save(QWidget* widget, const QString& path);

// Asks for a file (PNG, SVG or PDF) and saves `widget` there; errors in a dialog.
void saveWithDialog(QWidget* widget, const QString& caption, QWidget* dialogParent);

}  // namespace WidgetExport
