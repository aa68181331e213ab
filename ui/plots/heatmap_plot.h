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
  // menu exporting the plot and `table`.
  void installIn(QWidget* panel, const QList<QWidget*>& controls, std::function<CsvTable()> table);

  QCPColorMap* colorMap() const { return colorMap_; }
  QCPColorScale* colorScale() const { return colorScale_; }

  // Tooltip text for the cell under the mouse (key, value indices); empty hides it.
  void setCellTooltip(std::function<QString(int key, int value)> tooltip);
  // The cell under a widget position, or false outside the map.
  bool cellAt(const QPoint& position, int* key, int* value) const;

  // Resizes the map to key x value cells on ranges [0, size-1]; cells become 0.
  void resizeCells(int keys, int values);

 protected:
  void mouseMoveEvent(QMouseEvent* event) override;
  void changeEvent(QEvent* event) override;

 private:
  QCPColorMap* colorMap_;
  QCPColorScale* colorScale_;
  std::function<QString(int, int)> tooltip_;
};

// Plot fonts large enough for a projector.
void setProjectionFonts(QCustomPlot* plot);
