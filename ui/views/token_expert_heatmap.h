#pragma once
// Tokens x routed experts at a layer of its own choosing (not the one that
// colours the token text, so both can be shown at once): the gate weight of
// each chosen expert (0 elsewhere) or every expert's selection score. Columns
// grow with spare capacity, so appending a batch costs O(batch x experts).
// A long run is zoomed to a window of tokens ("Show 50 tokens") and scrolled
// with the bar below; at its end the window follows the newest tokens, and
// it moves to a selected token out of view.
#include <QVector>
#include <QWidget>

#include "export/table_export.h"

class QComboBox;
class QCPItemRect;
class QCustomPlot;
class QLabel;
class QScrollBar;
class HeatmapPlot;
class RoutingDocument;

class TokenExpertHeatmap : public QWidget {
  Q_OBJECT

 public:
  // selectionScore: DeepSeek-V3's score + balancing bias, what its top-k ranks;
  // offered only for models whose gate has the bias.
  enum class Value { gateWeight, score, selectionScore };

  explicit TokenExpertHeatmap(RoutingDocument* document, QWidget* parent = nullptr);

  void setValue(Value value);
  void setLayer(int layer);             // a MoE layer of the document; others are ignored
  int layer() const { return layer_; }  // -1 with no run on screen
  QCustomPlot* plot() const;
  QVector<QVector<double>> cellValues() const;  // [tokens][experts] as drawn
  CsvTable table() const;

  // 0: every token; n: a window of n tokens, scrolled by scrollBar().
  void setShownTokens(int tokens);
  QPair<int, int> shownRange() const;  // [first, last] token in view
  QScrollBar* scrollBar() const { return scroll_; }

 private:
  void refillLayers();  // the layer box offers the document's MoE layers
  void rebuild();
  void offerSelectionScores();
  void addTokens(int first, int count);
  void updateAxes();
  void labelTokens();
  void updateSelection();
  void showSelected();  // scrolls the selected token into view
  int shownSpan() const;
  double value(int token, int expert) const;
  QString cellTooltip(int token, int expert) const;

  RoutingDocument* document_;
  QComboBox* valueBox_;
  QComboBox* spanBox_;
  QScrollBar* scroll_;
  QComboBox* layerBox_;
  HeatmapPlot* plot_;
  QCPItemRect* selection_;
  int layer_ = -1;
  int capacity_ = 0;    // token columns allocated in the colour map
  double minimum_ = 0;  // below 0 only for biased selection scores
  double maximum_ = 0;
};
