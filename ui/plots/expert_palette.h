#pragma once
// Colours shared by every routing view, so expert 12 looks the same in the
// token text, the inspector and the legends, on light and dark palettes.
#include <qcustomplot.h>

#include <QColor>
#include <QPalette>

namespace ExpertPalette {

// A categorical colour per routed expert id: golden-angle hues, alternating
// two lightness levels so that neighbouring ids differ in more than hue.
QColor expertColor(int expert);

// Black or white, whichever contrasts more with `background`.
QColor textColorOn(const QColor& background);

// Sequential gradient for heatmaps (viridis stops): monotonic in lightness,
// readable for colour-blind viewers and on both light and dark backgrounds.
QCPColorGradient heatGradient();

// Diverging gradient for "load relative to balance" on a data range [0, upper]
// (upper > 1): dark blue for a dead expert (0), a pale neutral exactly at 1
// (its fair share), dark red for the most overloaded — so balanced and dead
// experts never look alike.
QCPColorGradient balanceGradient(double upper);

// Styles a plot's background, axes, grid and legend from a widget palette,
// so plots follow a dark theme. Call after adding axis rects.
void applyPlotPalette(QCustomPlot* plot, const QPalette& palette);

}  // namespace ExpertPalette
