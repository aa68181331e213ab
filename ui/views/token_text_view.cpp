#include "views/token_text_view.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollArea>
#include <QScrollBar>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <functional>

#include "document/routing_document.h"
#include "document/token_format.h"
#include "plots/expert_palette.h"
#include "views/start_card.h"

// Lays tokens out like wrapped text and paints them. Layout is incremental:
// appended tokens continue from the last box; only a width change or a reset
// lays everything out again.
class TokenCanvas : public QWidget {
 public:
  explicit TokenCanvas(RoutingDocument* document, QWidget* parent)
      : QWidget(parent), document_(document) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);  // ← → Home End move the selected token
  }

  // Emitted for → at the last token: in step mode the window reveals the next one.
  std::function<void()> onStepPastEnd;

  QRect tokenRect(int index) const {
    return index >= 0 && index < rects_.size() ? rects_[index] : QRect();
  }

  void relayout() {
    rects_.clear();
    cursor_ = QPoint(margin, margin);
    layOut(0, document_->tokenCount());
  }

  // A quarter larger than the window's font (15 pt at the classroom look's
  // 12), so it follows the window's zoom.
  QFont textFont() const {
    QFont large = font();
    large.setPointSizeF(large.pointSizeF() * 1.25);
    return large;
  }

  void layOut(int first, int count) {
    // Tokens a relayout (a resize) already placed are not placed twice.
    const int end = first + count;
    first = std::max(first, int(rects_.size()));
    count = end - first;
    const QFontMetrics metrics(textFont());
    const int lineHeight = metrics.height() + 2 * padY;
    const int width = std::max(this->width(), 200);
    for (int i = first; i < first + count; ++i) {
      const auto& token = document_->snapshot().tokens[i];
      const QString text = TokenFormat::chipText(token);
      const int boxWidth = std::max(metrics.horizontalAdvance(text) + 2 * padX, 10);
      if (cursor_.x() > margin && cursor_.x() + boxWidth > width - margin)
        cursor_ = QPoint(margin, cursor_.y() + lineHeight + gap);
      rects_ << QRect(cursor_, QSize(boxWidth, lineHeight));
      cursor_.rx() += boxWidth + gap;
      if (TokenFormat::endsLine(token.text))
        cursor_ = QPoint(margin, cursor_.y() + lineHeight + gap);
    }
    setMinimumHeight(cursor_.y() + lineHeight + margin);
    update();
  }

  int tokenAt(const QPoint& position) const {
    for (int i = firstVisible(position.y()); i < rects_.size() && rects_[i].top() <= position.y();
         ++i)
      if (rects_[i].contains(position)) return i;
    return -1;
  }

 protected:
  void paintEvent(QPaintEvent* event) override {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const auto& tokens = document_->snapshot().tokens;
    const int layer = document_->focusLayer();
    for (int i = firstVisible(event->rect().top());
         i < rects_.size() && rects_[i].top() <= event->rect().bottom(); ++i) {
      const auto* routing = TokenFormat::findLayer(tokens[i].routing, layer);
      const QColor background = routing && !routing->expert_ids.empty()
                                    ? ExpertPalette::expertColor(routing->expert_ids.front())
                                    : palette().color(QPalette::AlternateBase);
      const QRectF box = QRectF(rects_[i]).adjusted(0.5, 0.5, -0.5, -0.5);
      painter.setPen(tokens[i].routing.is_prompt
                         ? QPen(ExpertPalette::textColorOn(background), 1, Qt::DotLine)
                         : Qt::NoPen);
      painter.setBrush(background);
      painter.drawRoundedRect(box, 4, 4);
      QFont face = textFont();
      face.setItalic(tokens[i].routing.is_prompt);
      painter.setFont(face);
      painter.setPen(ExpertPalette::textColorOn(background));
      painter.drawText(rects_[i], Qt::AlignCenter, TokenFormat::chipText(tokens[i]));
      if (i == document_->selectedToken()) {
        painter.setBrush(Qt::NoBrush);
        painter.setPen(QPen(palette().color(QPalette::WindowText), 5));
        painter.drawRoundedRect(box.adjusted(-1, -1, 1, 1), 5, 5);
        painter.setPen(QPen(palette().color(QPalette::Highlight), 3));
        painter.drawRoundedRect(box.adjusted(-1, -1, 1, 1), 5, 5);
      }
    }
  }

  void resizeEvent(QResizeEvent* event) override {
    if (event->size().width() != event->oldSize().width()) relayout();
  }

  void changeEvent(QEvent* event) override {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::FontChange) relayout();
  }

  void keyPressEvent(QKeyEvent* event) override {
    const int last = document_->tokenCount() - 1;
    const int selected = document_->selectedToken();
    switch (event->key()) {
      case Qt::Key_Left:
        document_->setSelectedToken(std::max(0, selected - 1));
        break;
      case Qt::Key_Right:
        if (selected >= last && onStepPastEnd)
          onStepPastEnd();
        else
          document_->setSelectedToken(std::min(last, selected + 1));
        break;
      case Qt::Key_Home:
        document_->setSelectedToken(last >= 0 ? 0 : -1);
        break;
      case Qt::Key_End:
        document_->setSelectedToken(last);
        break;
      default:
        return QWidget::keyPressEvent(event);
    }
    event->accept();
  }

  void mousePressEvent(QMouseEvent* event) override {
    const int index = tokenAt(event->position().toPoint());
    if (event->button() == Qt::LeftButton && index >= 0) document_->setSelectedToken(index);
  }

  bool event(QEvent* event) override {
    if (event->type() != QEvent::ToolTip) return QWidget::event(event);
    auto* help = static_cast<QHelpEvent*>(event);
    const int index = tokenAt(help->pos());
    if (index < 0) {
      QToolTip::hideText();
      return true;
    }
    const auto& token = document_->snapshot().tokens[index];
    QToolTip::showText(help->globalPos(), TokenFormat::routingTooltip(token.text, token.routing),
                       this, rects_[index]);
    return true;
  }

 private:
  static constexpr int margin = 8, gap = 3, padX = 3, padY = 3;

  // Boxes are laid out top to bottom, so the first one reaching y is found by bisection.
  int firstVisible(int y) const {
    return int(std::lower_bound(rects_.begin(), rects_.end(), y,
                                [](const QRect& r, int top) { return r.bottom() < top; }) -
               rects_.begin());
  }

  RoutingDocument* document_;
  QVector<QRect> rects_;  // [tokens] laid-out boxes
  QPoint cursor_{margin, margin};
};

TokenTextView::TokenTextView(RoutingDocument* document, QWidget* parent)
    : QWidget(parent), document_(document) {
  layerBox_ = new QComboBox(this);
  canvas_ = new TokenCanvas(document, this);
  scrollArea_ = new QScrollArea(this);
  scrollArea_->setObjectName(QStringLiteral("tokenTextScroll"));
  scrollArea_->setWidget(canvas_);
  scrollArea_->setWidgetResizable(true);
  scrollArea_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

  // Hidden while there is no layer to colour by (first launch: no run yet).
  layerRow_ = new QWidget(this);
  auto* controls = new QHBoxLayout(layerRow_);
  controls->setContentsMargins(0, 0, 0, 0);
  controls->addWidget(new QLabel(tr("Colour by top expert at"), layerRow_));
  controls->addWidget(layerBox_);
  legend_ = new QLabel(layerRow_);
  legend_->setObjectName(QStringLiteral("tokenColourLegend"));
  legend_->setWordWrap(true);
  controls->addWidget(legend_, 1);
  // The card scrolls rather than making the window taller than a 720-pixel screen.
  startCard_ = new StartCard;
  startScroll_ = new QScrollArea(this);
  startScroll_->setWidget(startCard_);
  startScroll_->setWidgetResizable(true);
  startScroll_->setFrameShape(QFrame::NoFrame);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(layerRow_);
  layout->addWidget(startScroll_, 1);
  layout->addWidget(scrollArea_, 1);

  // The text is made of the tokens' pieces: copy it whole, or the selected piece.
  auto* copyText = new QAction(tr("Copy text"), this);
  copyText->setObjectName(QStringLiteral("copyTextAction"));
  copyText->setShortcut(QKeySequence::Copy);
  copyText->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  connect(copyText, &QAction::triggered, this,
          [this] { QApplication::clipboard()->setText(text()); });
  auto* copyToken = new QAction(tr("Copy selected token"), this);
  connect(copyToken, &QAction::triggered, this, [this] {
    const int i = document_->selectedToken();
    if (i >= 0)
      QApplication::clipboard()->setText(
          QString::fromStdString(document_->snapshot().tokens[i].text));
  });
  addActions({copyText, copyToken});
  setContextMenuPolicy(Qt::ActionsContextMenu);
  canvas_->onStepPastEnd = [this] { emit stepRequested(); };

  connect(layerBox_, &QComboBox::activated, this,
          [this](int index) { document_->setFocusLayer(layerBox_->itemData(index).toInt()); });
  connect(document_, &RoutingDocument::documentReset, this, [this] {
    fillLayerBox();
    canvas_->relayout();
    topExpertCounts_.clear();
    countTopExperts(0, document_->tokenCount());
    showStartCardIfEmpty();
  });
  connect(document_, &RoutingDocument::tokensAppended, this, [this](int first, int count) {
    QScrollBar* bar = scrollArea_->verticalScrollBar();
    const bool following = bar->value() == bar->maximum();  // keep the newest token in view
    canvas_->layOut(first, count);
    countTopExperts(first, count);
    showStartCardIfEmpty();  // the first tokens: the canvas shows, and may lay out afresh
    if (following) scrollArea_->ensureVisible(0, canvas_->tokenRect(first + count - 1).bottom());
  });
  connect(document_, &RoutingDocument::focusLayerChanged, this, [this](int layer) {
    layerBox_->setCurrentIndex(layerBox_->findData(layer));
    topExpertCounts_.clear();
    countTopExperts(0, document_->tokenCount());
    canvas_->update();
  });
  connect(document_, &RoutingDocument::selectedTokenChanged, this, [this](int index) {
    canvas_->update();
    const QRect rect = canvas_->tokenRect(index);
    if (!rect.isNull()) scrollArea_->ensureVisible(rect.center().x(), rect.center().y(), 0, 40);
  });
  fillLayerBox();
  showStartCardIfEmpty();
}

void TokenTextView::showStartCardIfEmpty() {
  startScroll_->setVisible(document_->isEmpty());
  scrollArea_->setVisible(!document_->isEmpty());
}

void TokenTextView::countTopExperts(int first, int count) {
  const auto& tokens = document_->snapshot().tokens;
  for (int i = first; i < first + count; ++i)
    if (const auto* routing = TokenFormat::findLayer(tokens[i].routing, document_->focusLayer()))
      if (!routing->expert_ids.empty()) ++topExpertCounts_[routing->expert_ids.front()];
  updateLegend();
}

void TokenTextView::updateLegend() {
  // The most frequent top experts as coloured chips with their token counts.
  constexpr int shown = 8;
  QList<std::pair<int, int>> byCount;  // (tokens, expert)
  for (auto it = topExpertCounts_.cbegin(); it != topExpertCounts_.cend(); ++it)
    byCount << std::pair{it.value(), it.key()};
  std::stable_sort(byCount.begin(), byCount.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  QStringList chips;
  for (int i = 0; i < std::min(shown, int(byCount.size())); ++i) {
    const QColor colour = ExpertPalette::expertColor(byCount[i].second);
    chips << QStringLiteral("<span style='background:%1; color:%2'>&nbsp;e%3&nbsp;</span> %4")
                 .arg(colour.name(), ExpertPalette::textColorOn(colour).name())
                 .arg(byCount[i].second)
                 .arg(byCount[i].first);
  }
  if (byCount.size() > shown) chips << tr("+%1 more").arg(byCount.size() - shown);
  legend_->setText(chips.isEmpty() ? QString()
                                   : tr("colour = top expert (tokens): %1 · dotted: prompt")
                                         .arg(chips.join(QStringLiteral(" "))));
}

QWidget* TokenTextView::canvas() const {
  return canvas_;
}

QString TokenTextView::legendText() const {
  return legend_->text();
}

QString TokenTextView::text() const {
  QString text;
  for (const auto& token : document_->snapshot().tokens) text += QString::fromStdString(token.text);
  return text;
}

void TokenTextView::focusTokens() {
  canvas_->setFocus();
}

void TokenTextView::fillLayerBox() {
  layerBox_->clear();
  for (int layer : document_->moeLayers()) layerBox_->addItem(tr("layer %1").arg(layer), layer);
  layerBox_->setCurrentIndex(layerBox_->findData(document_->focusLayer()));
  layerRow_->setVisible(layerBox_->count() > 0);
}

QRect TokenTextView::tokenRect(int index) const {
  const QRect rect = canvas_->tokenRect(index);
  return rect.isNull() ? rect : QRect(canvas_->mapTo(this, rect.topLeft()), rect.size());
}
