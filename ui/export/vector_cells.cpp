#include "export/vector_cells.h"

#include <qcustomplot.h>

#include <cmath>

namespace {
const QString cellsLayer = QStringLiteral("vectorCells");
}  // namespace

// Draws one colour map's visible cells as filled rectangles.
class CellsLayerable : public QCPLayerable {
 public:
  CellsLayerable(QCustomPlot* plot, QCPColorMap* map)
      : QCPLayerable(plot, cellsLayer), map_(map), gradient_(map->gradient()) {}

 protected:
  void applyDefaultAntialiasingHint(QCPPainter* painter) const override {
    painter->setAntialiasing(false);  // edge to edge, no hairline seams
  }
  QRect clipRect() const override { return map_->keyAxis()->axisRect()->rect(); }

  void draw(QCPPainter* painter) override {
    QCPColorMapData* data = map_->data();
    const int keys = data->keySize(), values = data->valueSize();
    if (keys < 1 || values < 1) return;
    QCPAxis* keyAxis = map_->keyAxis();
    QCPAxis* valueAxis = map_->valueAxis();
    // Cell centres span the data's ranges; each cell is one step wide.
    const double keyStep = keys > 1 ? data->keyRange().size() / (keys - 1) : 1.0;
    const double valueStep = values > 1 ? data->valueRange().size() / (values - 1) : 1.0;
    const QRect visible = clipRect();
    const bool logarithmic = map_->dataScaleType() == QCPAxis::stLogarithmic;
    painter->setPen(Qt::NoPen);
    for (int k = 0; k < keys; ++k)
      for (int v = 0; v < values; ++v) {
        double key = 0, value = 0;
        data->cellToCoord(k, v, &key, &value);
        const QPointF a(keyAxis->coordToPixel(key - keyStep / 2),
                        valueAxis->coordToPixel(value - valueStep / 2));
        const QPointF b(keyAxis->coordToPixel(key + keyStep / 2),
                        valueAxis->coordToPixel(value + valueStep / 2));
        // A vertical key axis swaps the pixel coordinates.
        const QRectF cell = keyAxis->orientation() == Qt::Horizontal
                                ? QRectF(QPointF(a.x(), a.y()), QPointF(b.x(), b.y())).normalized()
                                : QRectF(QPointF(a.y(), a.x()), QPointF(b.y(), b.x())).normalized();
        if (!cell.intersects(visible)) continue;
        const double cellValue = data->cell(k, v);
        if (std::isnan(cellValue)) continue;
        painter->setBrush(
            QColor::fromRgba(gradient_.color(cellValue, map_->dataRange(), logarithmic)));
        painter->drawRect(cell);
      }
  }

 private:
  QCPColorMap* map_;
  QCPColorGradient gradient_;  // a copy: color() caches its lookup table
};

VectorCells::VectorCells(QCustomPlot* plot) : plot_(plot) {
  for (int i = 0; i < plot_->plottableCount(); ++i) {
    auto* map = qobject_cast<QCPColorMap*>(plot_->plottable(i));
    if (!map || !map->visible()) continue;
    // Below the map's own layer, so grid lines, items and axes stay on top.
    if (!plot_->layer(cellsLayer)) plot_->addLayer(cellsLayer, map->layer(), QCustomPlot::limBelow);
    cells_.push_back(new CellsLayerable(plot_, map));
    map->setVisible(false);
    hidden_.push_back(map);
  }
}

VectorCells::~VectorCells() {
  for (QCPColorMap* map : hidden_) map->setVisible(true);
  for (CellsLayerable* cells : cells_) delete cells;
  if (QCPLayer* layer = plot_->layer(cellsLayer)) plot_->removeLayer(layer);
}
