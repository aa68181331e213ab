#pragma once
// Tokens x routed experts at the document's focus layer: the gate weight of
// each chosen expert (0 elsewhere) or every expert's selection score. Columns
// grow with spare capacity, so appending a batch costs O(batch x experts).
#include <QVector>
#include <QWidget>

#include "export/table_export.h"

class QComboBox;
class QCPItemRect;
class QCustomPlot;
class QLabel;
class HeatmapPlot;
class RoutingDocument;

class TokenExpertHeatmap : public QWidget {
  Q_OBJECT

 public:
  enum class Value { gateWeight, score };

  explicit TokenExpertHeatmap(RoutingDocument* document, QWidget* parent = nullptr);

  void setValue(Value value);
  QCustomPlot* plot() const;
  QVector<QVector<double>> cellValues() const;  // [tokens][experts] as drawn
  CsvTable table() const;

 private:
  void rebuild();
  void addTokens(int first, int count);
  void updateAxes();
  void labelTokens();
  void updateSelection();
  double value(int token, int expert) const;
  QString cellTooltip(int token, int expert) const;

  RoutingDocument* document_;
  QComboBox* valueBox_;
  QLabel* title_;
  HeatmapPlot* plot_;
  QCPItemRect* selection_;
  int capacity_ = 0;  // token columns allocated in the colour map
  double maximum_ = 0;
};
