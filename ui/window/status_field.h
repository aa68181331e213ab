#pragma once
// A status-bar label that never clips: when the bar is too narrow for its
// text (a 1280×720 projector, a zoomed window), it shrinks with the bar and
// draws the text elided, the whole text in its tooltip.
#include <QLabel>

class StatusField : public QLabel {
  Q_OBJECT

 public:
  explicit StatusField(const QString& text = {}, QWidget* parent = nullptr);

  QSize minimumSizeHint() const override;  // a few characters: the bar may squeeze it
  bool isElided() const;                   // the whole text does not fit just now
  QString shownText() const;               // what is drawn: text(), elided to fit

 protected:
  void paintEvent(QPaintEvent* event) override;
  bool event(QEvent* event) override;  // the tooltip: the whole text when elided
};
