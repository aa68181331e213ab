#include "plots/expert_palette.h"

#include <algorithm>
#include <cmath>

namespace ExpertPalette {

QColor expertColor(int expert) {
  constexpr double goldenAngle = 137.50776405;
  const double hue = std::fmod(expert * goldenAngle, 360.0) / 360.0;
  const bool light = expert % 2 == 0;
  return QColor::fromHslF(float(hue), 0.72f, light ? 0.66f : 0.46f);
}

QColor textColorOn(const QColor& background) {
  // Relative luminance (sRGB, WCAG); 0.18 is where black and white contrast equally.
  auto linear = [](double c) {
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  };
  const double luminance = 0.2126 * linear(background.redF()) +
                           0.7152 * linear(background.greenF()) +
                           0.0722 * linear(background.blueF());
  return luminance > 0.18 ? QColor(Qt::black) : QColor(Qt::white);
}

QCPColorGradient heatGradient() {
  QCPColorGradient gradient;
  gradient.clearColorStops();
  gradient.setColorStopAt(0.00, QColor(68, 1, 84));
  gradient.setColorStopAt(0.25, QColor(59, 82, 139));
  gradient.setColorStopAt(0.50, QColor(33, 145, 140));
  gradient.setColorStopAt(0.75, QColor(94, 201, 98));
  gradient.setColorStopAt(1.00, QColor(253, 231, 37));
  gradient.setColorInterpolation(QCPColorGradient::ciRGB);
  return gradient;
}

QCPColorGradient balanceGradient(double upper) {
  const double centre = 1.0 / std::max(upper, 1.0 + 1e-9);  // where 1 lies in [0, upper]
  QCPColorGradient gradient;
  gradient.clearColorStops();
  gradient.setColorStopAt(0.0, QColor(33, 102, 172));
  gradient.setColorStopAt(centre / 2, QColor(146, 197, 222));
  gradient.setColorStopAt(centre, QColor(247, 247, 247));
  gradient.setColorStopAt(centre + (1 - centre) / 2, QColor(244, 165, 130));
  gradient.setColorStopAt(1.0, QColor(178, 24, 43));
  gradient.setColorInterpolation(QCPColorGradient::ciRGB);
  gradient.setLevelCount(512);  // a fine centre: 1 sits in a narrow band when upper is large
  return gradient;
}

void applyPlotPalette(QCustomPlot* plot, const QPalette& palette) {
  const QColor text = palette.color(QPalette::WindowText);
  QColor grid = text;
  grid.setAlphaF(0.18f);
  plot->setBackground(palette.brush(QPalette::Window));
  for (QCPAxisRect* rect : plot->axisRects()) {
    rect->setBackground(palette.brush(QPalette::Base));
    for (QCPAxis* axis : rect->axes()) {
      axis->setBasePen(QPen(text));
      axis->setTickPen(QPen(text));
      axis->setSubTickPen(QPen(text));
      axis->setTickLabelColor(text);
      axis->setLabelColor(text);
      axis->grid()->setPen(QPen(grid, 0, Qt::DotLine));
    }
  }
  for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
    if (auto* scale = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i))) {
      scale->axis()->setBasePen(QPen(text));
      scale->axis()->setTickPen(QPen(text));
      scale->axis()->setSubTickPen(QPen(text));
      scale->axis()->setTickLabelColor(text);
      scale->axis()->setLabelColor(text);
    }
}

}  // namespace ExpertPalette
