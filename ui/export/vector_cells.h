#pragma once
// For the length of an SVG export: every colour map of the plot drawn as one
// vector rectangle per cell instead of a bitmap that viewers scale up
// blurred, in the map's place under the plot's items; the destructor puts
// the maps back.
#include <vector>

class QCPColorMap;
class QCustomPlot;

class VectorCells {
 public:
  explicit VectorCells(QCustomPlot* plot);
  ~VectorCells();
  VectorCells(const VectorCells&) = delete;
  VectorCells& operator=(const VectorCells&) = delete;

 private:
  QCustomPlot* plot_;
  std::vector<QCPColorMap*> hidden_;
  std::vector<class CellsLayerable*> cells_;
};
