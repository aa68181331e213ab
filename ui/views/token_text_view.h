#pragma once
// The prompt and generated text as tokens, each on a background coloured by
// its top routed expert at the document's focus layer (the Mixtral paper's
// routing figure). Prompt tokens are italic with a thin border; the selected
// token is outlined; hovering shows every MoE layer's routing. ← → Home End
// move the selection; Ctrl+C (and the context menu) copy the text.
#include <QWidget>

class QComboBox;
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

 signals:
  // → pressed on the last token: step mode shows the next one.
  void stepRequested();

 private:
  void fillLayerBox();

  RoutingDocument* document_;
  QComboBox* layerBox_;
  QWidget* layerRow_;
  QScrollArea* scrollArea_;
  TokenCanvas* canvas_;
};
