// What the views show when there is nothing to show, and labels that stay
// readable: colour-bar titles, expert ticks, token labels of long runs, chips
// of pieces with no text; the keyboard and the clipboard on the token text.
#include <QClipboard>
#include <QLabel>
#include <QtTest>

#include "document/routing_document.h"
#include "document/token_format.h"
#include "plots/heatmap_plot.h"
#include "support/synthetic_run.h"
#include "views/expert_load_heatmap.h"
#include "views/start_card.h"
#include "views/token_expert_heatmap.h"
#include "views/token_text_view.h"

namespace {

// A synthetic run whose model has `experts` routed experts.
moescope::RoutingSnapshot runOf(int experts, int tokens) {
  auto snapshot = synthetic::header();
  snapshot.model_config["n_routed_experts"] = experts;
  snapshot.tokens = synthetic::tokens(0, tokens);
  return snapshot;
}

HeatmapPlot* plotIn(QWidget* view) {
  return view->findChild<HeatmapPlot*>();
}

// Pixels between two neighbouring tick labels of `axis` (its ticks as last drawn).
double tickSpacing(QCPAxis* axis) {
  const QVector<double> ticks = axis->tickVector();
  if (ticks.size() < 2) return 1e9;
  return std::abs(axis->coordToPixel(ticks[1]) - axis->coordToPixel(ticks[0]));
}

// Shows `view` at `size` and waits until it is on screen.
bool shownAt(QWidget& view, QSize size) {
  view.resize(size);
  view.show();
  return QTest::qWaitForWindowExposed(&view);
}

// Replots twice: the second replot sees the layout of the first.
void laidOut(HeatmapPlot* plot) {
  plot->replot();
  plot->replot();
}

}  // namespace

class TestViewStates : public QObject {
  Q_OBJECT

 private slots:
  // First launch: no "Layer -1", no solid block, no blank axes 0–5, no empty layer box.
  void emptyDocumentSaysSo() {
    RoutingDocument document;
    TokenExpertHeatmap tokens(&document);
    ExpertLoadHeatmap load(&document);
    TokenTextView text(&document);
    for (QWidget* w : {static_cast<QWidget*>(&tokens), static_cast<QWidget*>(&load),
                       static_cast<QWidget*>(&text)})
      w->show();
    for (QLabel* label : tokens.findChildren<QLabel*>())
      QVERIFY2(!label->text().contains(QLatin1String("-1")), qPrintable(label->text()));
    for (QWidget* view : {static_cast<QWidget*>(&tokens), static_cast<QWidget*>(&load)}) {
      QVERIFY(!plotIn(view)->emptyMessage().isEmpty());
      QVERIFY(!plotIn(view)->colorMap()->visible());
      QVERIFY(!plotIn(view)->xAxis->tickLabels());
    }
    // The start card instead of "Colour by top expert at" over an empty box.
    QVERIFY(text.startCard()->isVisible());
    for (QLabel* label : text.findChildren<QLabel*>())
      if (!text.startCard()->isAncestorOf(label))
        QVERIFY2(!label->isVisible(), qPrintable(label->text()));

    auto snapshot = synthetic::header();
    document.reset(snapshot);  // a live run starts: still no tokens
    QVERIFY(!plotIn(&tokens)->emptyMessage().isEmpty());
    document.appendTokens(synthetic::tokens(0, 4));
    for (QWidget* view : {static_cast<QWidget*>(&tokens), static_cast<QWidget*>(&load)}) {
      QVERIFY(plotIn(view)->emptyMessage().isEmpty());
      QVERIFY(plotIn(view)->colorMap()->visible());
    }
    QVERIFY(text.findChild<QComboBox*>()->isVisible());
    QVERIFY(!text.startCard()->isVisible());
  }

  // In a narrow dock (1280×720) the empty plot's message wraps: every line fits the plot.
  void emptyMessageWrapsToThePlot() {
    RoutingDocument document;
    ExpertLoadHeatmap load(&document);
    QVERIFY(shownAt(load, {330, 260}));
    HeatmapPlot* plot = plotIn(&load);
    laidOut(plot);
    const QStringList lines = plot->shownEmptyText().split(QLatin1Char('\n'));
    QVERIFY(lines.size() > 1);
    QCOMPARE(lines.join(QLatin1Char(' ')), plot->emptyMessage());
    load.resize(900, 260);  // wide again: one line
    QTRY_VERIFY(plot->axisRect()->width() > 600);
    plot->replot();
    QCOMPARE(plot->shownEmptyText(), plot->emptyMessage());
  }

  // The colour bar's title fits its height (it was clipped at both ends).
  void colourBarTitleFits_data() {
    QTest::addColumn<int>("height");
    QTest::newRow("dock height") << 300;
    QTest::newRow("short dock") << 200;
  }
  void colourBarTitleFits() {
    QFETCH(int, height);
    RoutingDocument document;
    document.reset(runOf(8, 20));
    TokenExpertHeatmap tokens(&document);
    ExpertLoadHeatmap load(&document);
    for (QWidget* view : {static_cast<QWidget*>(&tokens), static_cast<QWidget*>(&load)}) {
      QVERIFY(shownAt(*view, {520, height}));
      for (int value : {0, 1}) {
        if (view == &tokens) tokens.setValue(TokenExpertHeatmap::Value(value));
        if (view == &load) load.setMode(ExpertLoadHeatmap::Mode(value + 1));
        HeatmapPlot* plot = plotIn(view);
        laidOut(plot);
        QCPAxis* axis = plot->colorScale()->axis();
        const int width = QFontMetrics(axis->labelFont()).horizontalAdvance(axis->label());
        QVERIFY2(width <= plot->colorScale()->rect().height(),
                 qPrintable(QStringLiteral("%1: %2 px in %3 px")
                                .arg(axis->label())
                                .arg(width)
                                .arg(plot->colorScale()->rect().height())));
      }
    }
  }

  // 16 experts in a short dock: labels every few experts, not piled up.
  void expertTicksDoNotPileUp() {
    RoutingDocument document;
    document.reset(runOf(16, 20));
    TokenExpertHeatmap tokens(&document);
    QVERIFY(shownAt(tokens, {600, 260}));
    HeatmapPlot* plot = plotIn(&tokens);
    laidOut(plot);
    const int lineHeight = QFontMetrics(plot->yAxis->tickLabelFont()).height();
    QVERIFY2(tickSpacing(plot->yAxis) >= lineHeight,
             qPrintable(QString::number(tickSpacing(plot->yAxis))));
  }

  // A long run keeps token texts on its x axis, thinned, never bare indices.
  void longRunKeepsTokenLabels() {
    RoutingDocument document;
    document.reset(runOf(8, 120));
    TokenExpertHeatmap tokens(&document);
    QVERIFY(shownAt(tokens, {900, 400}));
    HeatmapPlot* plot = plotIn(&tokens);
    plot->replot();
    auto ticker = plot->xAxis->ticker().dynamicCast<QCPAxisTickerText>();
    QVERIFY(ticker);
    QVERIFY(ticker->ticks().size() > 5);
    QVERIFY(ticker->ticks().size() < 120);
    for (auto it = ticker->ticks().begin(); it != ticker->ticks().end(); ++it)
      QCOMPARE(it.value(), TokenFormat::chipText(document.snapshot().tokens[int(it.key())]));
  }

  // BOS and byte-fallback pieces have no text of their own: their chips are named.
  void piecesWithoutTextHaveLabels() {
    moescope::SnapshotToken bos;
    bos.routing.is_prompt = true;
    bos.routing.token_id = 1;
    QCOMPARE(TokenFormat::chipText(bos), QStringLiteral("\u27e8BOS\u27e9"));
    moescope::SnapshotToken byte;
    byte.routing.position = 7;
    byte.routing.token_id = 234;
    QCOMPARE(TokenFormat::chipText(byte), QStringLiteral("\u27e8id 234\u27e9"));
    byte.text = "\xea\xb0\x80";  // 가
    QCOMPARE(TokenFormat::chipText(byte), QStringLiteral("\uac00"));

    RoutingDocument document;
    auto snapshot = synthetic::header();
    snapshot.tokens = synthetic::tokens(0, 3);
    snapshot.tokens[0].text.clear();
    document.reset(snapshot);
    TokenTextView view(&document);
    QVERIFY(shownAt(view, {600, 200}));
    QVERIFY(view.tokenRect(0).width() > QFontMetrics(view.font()).horizontalAdvance("BOS"));
  }

  void arrowKeysMoveTheSelection() {
    RoutingDocument document;
    document.reset(runOf(8, 6));
    TokenTextView view(&document);
    QVERIFY(shownAt(view, {600, 200}));
    view.focusTokens();
    QWidget* canvas = QApplication::focusWidget();
    QVERIFY(canvas);
    QSignalSpy step(&view, &TokenTextView::stepRequested);
    QTest::keyClick(canvas, Qt::Key_Right);
    QCOMPARE(document.selectedToken(), 0);
    QTest::keyClick(canvas, Qt::Key_Right);
    QCOMPARE(document.selectedToken(), 1);
    QTest::keyClick(canvas, Qt::Key_Left);
    QCOMPARE(document.selectedToken(), 0);
    QTest::keyClick(canvas, Qt::Key_End);
    QCOMPARE(document.selectedToken(), 5);
    QCOMPARE(step.count(), 0);
    QTest::keyClick(canvas, Qt::Key_Right);  // past the end: step mode's next token
    QCOMPARE(step.count(), 1);
    QCOMPARE(document.selectedToken(), 5);
    QTest::keyClick(canvas, Qt::Key_Home);
    QCOMPARE(document.selectedToken(), 0);
  }

  void textCanBeCopied() {
    RoutingDocument document;
    document.reset(runOf(8, 5));
    TokenTextView view(&document);
    view.show();
    auto* copy = view.findChild<QAction*>(QStringLiteral("copyTextAction"));
    QVERIFY(copy);
    QCOMPARE(view.contextMenuPolicy(), Qt::ActionsContextMenu);
    copy->trigger();
    QCOMPARE(QApplication::clipboard()->text(), QStringLiteral("The fox, it said"));
  }
};

QTEST_MAIN(TestViewStates)
#include "test_view_states.moc"
