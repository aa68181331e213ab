// The load heatmap's cells against counts taken straight from the trace, in
// every mode and filter, for a whole snapshot and for batches appended live.
#include <QtTest>

#include "document/routing_document.h"
#include "plots/heatmap_plot.h"
#include "support/synthetic_run.h"
#include "views/expert_load_heatmap.h"

using moescope::TokenFilter;
using Mode = ExpertLoadHeatmap::Mode;

Q_DECLARE_METATYPE(Mode)
Q_DECLARE_METATYPE(TokenFilter)

namespace {

bool passes(const moescope::SnapshotToken& token, TokenFilter filter) {
  return filter == TokenFilter::all || (filter == TokenFilter::prompt) == token.routing.is_prompt;
}

// [MoE layers][experts] computed by hand from the trace.
QVector<QVector<double>> expected(const std::vector<moescope::SnapshotToken>& tokens, Mode mode,
                                  TokenFilter filter) {
  QVector<QVector<double>> cells;
  for (int layer : synthetic::moeLayers) {
    QVector<double> counts(synthetic::experts), gate(synthetic::experts);
    int routed = 0;
    double gateTotal = 0;
    for (const auto& token : tokens) {
      if (!passes(token, filter)) continue;
      ++routed;
      for (const auto& record : token.routing.layers) {
        if (record.layer != layer) continue;
        for (int j = 0; j < synthetic::topK; ++j) {
          counts[record.expert_ids[j]] += 1;
          gate[record.expert_ids[j]] += record.gate_weights[j];
          gateTotal += record.gate_weights[j];
        }
      }
    }
    QVector<double> row(synthetic::experts);
    for (int e = 0; e < synthetic::experts; ++e) {
      const double balanced = double(routed) * synthetic::topK / synthetic::experts;
      row[e] = mode == Mode::counts      ? counts[e]
               : mode == Mode::gateShare ? (gateTotal > 0 ? gate[e] / gateTotal : 0)
                                         : (balanced > 0 ? counts[e] / balanced : 0);
    }
    cells << row;
  }
  return cells;
}

void compareCells(const QVector<QVector<double>>& actual, const QVector<QVector<double>>& wanted) {
  QCOMPARE(actual.size(), wanted.size());
  for (int l = 0; l < wanted.size(); ++l) {
    QCOMPARE(actual[l].size(), wanted[l].size());
    for (int e = 0; e < wanted[l].size(); ++e)
      QVERIFY2(qAbs(actual[l][e] - wanted[l][e]) < 1e-9,
               qPrintable(QStringLiteral("row %1 expert %2: %3 != %4")
                              .arg(l)
                              .arg(e)
                              .arg(actual[l][e])
                              .arg(wanted[l][e])));
  }
}

}  // namespace

class TestExpertLoadHeatmap : public QObject {
  Q_OBJECT

 private slots:
  void matchesTrace_data() {
    QTest::addColumn<Mode>("mode");
    QTest::addColumn<TokenFilter>("filter");
    const std::pair<const char*, Mode> modes[] = {
        {"counts", Mode::counts}, {"share", Mode::gateShare}, {"balance", Mode::balance}};
    const std::pair<const char*, TokenFilter> filters[] = {{"all", TokenFilter::all},
                                                           {"prompt", TokenFilter::prompt},
                                                           {"generated", TokenFilter::generated}};
    for (const auto& [modeName, mode] : modes)
      for (const auto& [filterName, filter] : filters)
        QTest::addRow("%s/%s", modeName, filterName) << mode << filter;
  }

  void matchesTrace() {
    QFETCH(Mode, mode);
    QFETCH(TokenFilter, filter);
    RoutingDocument document;
    auto snapshot = synthetic::header();
    snapshot.tokens = synthetic::tokens(0, 4);
    document.reset(snapshot);
    ExpertLoadHeatmap heatmap(&document);
    heatmap.setMode(mode);
    heatmap.setFilter(filter);
    compareCells(heatmap.cellValues(), expected(document.snapshot().tokens, mode, filter));

    // Live batches, including one that flips the filter's view mid-run.
    for (int batch : {1, 3, 5}) {
      document.appendTokens(synthetic::tokens(document.tokenCount(), batch));
      compareCells(heatmap.cellValues(), expected(document.snapshot().tokens, mode, filter));
    }
  }

  // Load vs balance diverges around 1: a dead expert blue, a balanced one a
  // pale neutral, the busiest red; the other modes keep the sequential scale.
  void balanceIsCentredOnOne() {
    RoutingDocument document;
    auto snapshot = synthetic::header();
    snapshot.tokens = synthetic::tokens(0, 8);
    document.reset(snapshot);
    ExpertLoadHeatmap heatmap(&document);
    heatmap.setMode(Mode::balance);
    QCPColorMap* map = qobject_cast<HeatmapPlot*>(heatmap.plot())->colorMap();
    const QCPRange range = map->dataRange();
    QCOMPARE(range.lower, 0.0);
    QVERIFY(range.upper >= 2.0);
    const QColor dead = QColor::fromRgb(map->gradient().color(0.0, range));
    const QColor fair = QColor::fromRgb(map->gradient().color(1.0, range));
    const QColor busiest = QColor::fromRgb(map->gradient().color(range.upper, range));
    QVERIFY(dead.blue() > dead.red() + 80);
    QVERIFY(busiest.red() > busiest.blue() + 80);
    QVERIFY(fair.lightness() > 230);
    QVERIFY(std::abs(fair.red() - fair.blue()) < 12);  // neither side's hue
    heatmap.setMode(Mode::counts);
    const QColor low = QColor::fromRgb(map->gradient().color(range.lower, map->dataRange()));
    QCOMPARE(low, QColor(68, 1, 84));  // viridis again
  }

  void emptyDocumentHasZeroCells() {
    RoutingDocument document;
    document.reset(synthetic::header());
    ExpertLoadHeatmap heatmap(&document);
    compareCells(heatmap.cellValues(), expected({}, Mode::counts, TokenFilter::all));
    document.clear();
    QVERIFY(heatmap.cellValues().isEmpty());
  }
};

QTEST_MAIN(TestExpertLoadHeatmap)
#include "test_expert_load_heatmap.moc"
