#pragma once
// The plot both heatmaps draw into: one colour map with a colour scale, cell
// tooltips on hover, large fonts for projection and the widget palette.
#include <qcustomplot.h>

#include <functional>

struct CsvTable;

class HeatmapPlot : public QCustomPlot {
  Q_OBJECT

 public:
  explicit HeatmapPlot(QWidget* parent = nullptr);

  // Lays out `panel`: a row of controls above this plot, and a right-click
  // menu exporting the plot (with the line `title` gives) and `table`.
  void installIn(QWidget* panel, const QList<QWidget*>& controls, std::function<CsvTable()> table,
                 std::function<QString()> title);

  QCPColorMap* colorMap() const { return colorMap_; }
  QCPColorScale* colorScale() const { return colorScale_; }

  // Tooltip text for the cell under the mouse (key, value indices); empty hides it.
  void setCellTooltip(std::function<QString(int key, int value)> tooltip);
  // The cell under a widget position, or false outside the map.
  bool cellAt(const QPoint& position, int* key, int* value) const;

  // Resizes the map to key x value cells on ranges [0, size-1]; cells become 0.
  void resizeCells(int keys, int values);

  // Nothing to draw yet: hides the map, its scale and the axes' ticks and says
  // `message` in the middle instead of drawing an empty grid; an empty
  // message shows the map again.
  void setEmptyMessage(const QString& message);
  QString emptyMessage() const;
  QString shownEmptyText() const;  // the message as drawn: wrapped to the plot's width

  // The colour scale's title; shortened with "…" to the scale's height at each
  // replot, so it is never clipped.
  void setScaleLabel(const QString& label);

  // An axis of whole cells (experts, layers): ticks every 1, 2, 4, 8… cells,
  // the smallest step whose labels do not touch at the axis' current length.
  void setCellAxis(QCPAxis* axis);

  // The smallest step of 1, 2, 4, 8… for `count` labels `labelPixels` tall
  // each to fit in `pixels`.
  static int labelStep(int count, int pixels, int labelPixels);

 protected:
  void mouseMoveEvent(QMouseEvent* event) override;
  void changeEvent(QEvent* event) override;

 private:
  void fitAxesToSize();  // before each replot: the cell axes' label steps
  void fitScaleLabel();  // after each layout: the scale's title to the bar's length
  void wrapEmptyMessage();

  QCPColorMap* colorMap_;
  QCPColorScale* colorScale_;
  QCPItemText* emptyText_;
  QString emptyMessage_;
  QString scaleLabel_;
  QList<QCPAxis*> cellAxes_;
  std::function<QString(int, int)> tooltip_;
};

// Plot fonts large enough for a projector, following the widget's font: a
// window zoom (presentation mode) scales them with everything else.
void setProjectionFonts(QCustomPlot* plot);
