#pragma once
// The prompt and generated text as tokens, each on a background coloured by
// its top routed expert at the document's focus layer (the Mixtral paper's
// routing figure). Prompt tokens are italic with a thin border; the selected
// token is outlined; hovering shows every MoE layer's routing. ← → Home End
// move the selection; Ctrl+C (and the context menu) copy the text.
#include <QMap>
#include <QWidget>

class QComboBox;
class QLabel;
class StartCard;
class QScrollArea;
class RoutingDocument;
class TokenCanvas;

class TokenTextView : public QWidget {
  Q_OBJECT

 public:
  explicit TokenTextView(RoutingDocument* document, QWidget* parent = nullptr);

  // Token `index`'s box in this widget's coordinates (empty if not laid out).
  QRect tokenRect(int index) const;
  QString text() const;  // the prompt and generated text, every piece in order
  void focusTokens();    // gives the keyboard to the tokens (arrow keys)
  // Shown instead of the tokens while the document is empty.
  StartCard* startCard() const { return startCard_; }
  // The colour legend beside the layer box: the experts the tokens are coloured by.
  QString legendText() const;
  QWidget* canvas() const;  // the laid-out tokens, whole: what an export draws

 signals:
  // → pressed on the last token: step mode shows the next one.
  void stepRequested();

 private:
  void fillLayerBox();
  void countTopExperts(int first, int count);
  void updateLegend();
  void showStartCardIfEmpty();

  RoutingDocument* document_;
  QComboBox* layerBox_;
  QWidget* layerRow_;
  QScrollArea* scrollArea_;
  TokenCanvas* canvas_;
  StartCard* startCard_;
  QScrollArea* startScroll_;
  QLabel* legend_;
  QMap<int, int> topExpertCounts_;  // expert -> tokens it is the top expert of, at the focus layer
};
