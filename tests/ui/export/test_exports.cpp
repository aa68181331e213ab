// CSV contents (each row naming its metric and layer), plot files in every
// format, slide exports (a title, black on white, the plot left as it was),
// views saved as pictures, and failures that leave no file.
#include <qcustomplot.h>

#include <QLabel>
#include <QTemporaryDir>
#include <QtTest>

#include "export/plot_export.h"
#include "export/table_export.h"
#include "export/widget_export.h"
#include "support/synthetic_run.h"

namespace {

// The file holds its format's magic bytes: first, or for SVG after the XML declaration.
bool startsAsItShould(const QString& path, const QByteArray& magic) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return false;
  const QByteArray bytes = file.readAll();
  return path.endsWith(QLatin1String("svg")) ? bytes.contains(magic) : bytes.startsWith(magic);
}

}  // namespace

class TestExports : public QObject {
  Q_OBJECT

 private slots:
  void layerExpertCsv() {
    const CsvTable table = TableExport::layerExpertTable(QStringLiteral("token count"), {1, 2},
                                                         {{3, 0, 1.5}, {0.25, 2, 0}});
    QCOMPARE(TableExport::toCsv(table), QStringLiteral("metric,layer,expert_0,expert_1,expert_2\n"
                                                       "token count,1,3,0,1.5\n"
                                                       "token count,2,0.25,2,0\n"));
  }

  // Each row names its metric and layer, the token's id, exact text and kind:
  // an empty piece reads as the start marker or as byte-fallback bytes.
  void tokenExpertCsvQuotesPieces() {
    const auto tokens = synthetic::tokens(4, 4);  // " said", "\n", " \"hi\"", " go"
    const CsvTable table = TableExport::tokenExpertTable(QStringLiteral("gate weight"), 3, tokens,
                                                         {"text", "text", "text", "byte"},
                                                         {{1, 0}, {0, 0.5}, {0, 0}, {1, 1}});
    const QString id = QString::number(tokens[0].routing.token_id);
    QCOMPARE(table.header.mid(0, 6),
             (QStringList{"metric", "layer", "position", "token_id", "token", "token_kind"}));
    QCOMPARE(TableExport::toCsv(table).section(QLatin1Char('\n'), 1, 1),
             QStringLiteral("gate weight,3,4,%1, said,text,1,0").arg(id));
    QVERIFY(TableExport::toCsv(table).contains(QLatin1String(",\" \"\"hi\"\"\",text,0,0\n")));
    QVERIFY(TableExport::toCsv(table).endsWith(QLatin1String(",byte,1,1\n")));
  }

  void writesCsvFile() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("load.csv"));
    const CsvTable table = TableExport::layerExpertTable(QStringLiteral("score"), {1}, {{1, 2}});
    QCOMPARE(TableExport::writeCsv(table, path), QString());
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(file.readAll()), TableExport::toCsv(table));
  }

  void savesPlot_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("magic");
    QTest::newRow("png") << "plot.png" << QByteArray("\x89PNG\r\n\x1a\n");
    QTest::newRow("pdf") << "plot.pdf" << QByteArray("%PDF");
    QTest::newRow("svg") << "plot.svg" << QByteArray("<svg");
  }

  void savesPlot() {
    QFETCH(QString, name);
    QFETCH(QByteArray, magic);
    QCustomPlot plot;
    plot.resize(400, 300);
    plot.addGraph()->setData({0, 1, 2}, {1, 3, 2});
    plot.rescaleAxes();
    QTemporaryDir dir;
    const QString path = dir.filePath(name);
    QCOMPARE(PlotExport::savePlot(&plot, path), QString());
    QVERIFY(startsAsItShould(path, magic));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList{name});
  }

  void failsIntoMissingDirectory_data() {
    QTest::addColumn<QString>("name");
    for (const char* name : {"plot.png", "plot.pdf", "plot.svg", "table.csv"})
      QTest::newRow(name) << QString::fromLatin1(name);
  }

  void failsIntoMissingDirectory() {
    QFETCH(QString, name);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("missing/") + name);
    QCustomPlot plot;
    plot.resize(200, 100);
    const QString error =
        name.endsWith(QLatin1String("csv"))
            ? TableExport::writeCsv(TableExport::layerExpertTable({}, {1}, {{1}}), path)
            : PlotExport::savePlot(&plot, path);
    QVERIFY(!error.isEmpty());
    QVERIFY2(error.contains(path), qPrintable(error));
    QVERIFY(!QFile::exists(path));
  }

  // For slides: the title is in the file, the ground is white even under a
  // dark plot; afterwards the plot on screen is as it was.
  void slideExportHasTitleOnWhite() {
    QCustomPlot plot;
    plot.resize(400, 300);
    plot.setBackground(QBrush(Qt::black));
    plot.axisRect()->setBackground(QBrush(Qt::black));
    plot.xAxis->setTickLabelColor(Qt::white);
    plot.addGraph()->setData({0, 1, 2}, {1, 3, 2});
    plot.rescaleAxes();
    const int elements = plot.plotLayout()->elementCount();
    QTemporaryDir dir;
    const PlotExport::Options slide{QStringLiteral("tiny · “Once upon” · layer 1 · gate weight"),
                                    true};
    const QString svg = dir.filePath(QStringLiteral("slide.svg"));
    QCOMPARE(PlotExport::savePlot(&plot, svg, slide), QString());
    QFile file(svg);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(QString::fromUtf8(file.readAll()).contains(QStringLiteral("layer 1 · gate weight")));
    const QString png = dir.filePath(QStringLiteral("slide.png"));
    QCOMPARE(PlotExport::savePlot(&plot, png, slide), QString());
    const QImage image(png);
    QCOMPARE(QColor(image.pixel(3, 3)), QColor(Qt::white));
    QCOMPARE(plot.plotLayout()->elementCount(), elements);  // the title row is gone again
    QCOMPARE(plot.axisRect()->backgroundBrush().color(), QColor(Qt::black));
    QCOMPARE(plot.xAxis->tickLabelColor(), QColor(Qt::white));
  }

  // A heatmap's SVG holds one vector rectangle per cell, in the cell's colour,
  // and no bitmap a viewer would scale up blurred; the map is back afterwards.
  void svgHeatmapCellsAreVectors() {
    QCustomPlot plot;
    plot.resize(500, 300);
    auto* map = new QCPColorMap(plot.xAxis, plot.yAxis);
    constexpr int tokens = 30, experts = 8;
    map->data()->setSize(tokens, experts);
    map->data()->setRange(QCPRange(0, tokens - 1), QCPRange(0, experts - 1));
    for (int t = 0; t < tokens; ++t)
      for (int e = 0; e < experts; ++e) map->data()->setCell(t, e, (t * experts + e) % 17 / 16.0);
    map->setGradient(QCPColorGradient::gpThermal);
    map->setDataRange(QCPRange(0, 1));
    map->setInterpolate(false);
    plot.xAxis->setRange(-0.5, tokens - 0.5);
    plot.yAxis->setRange(-0.5, experts - 0.5);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("heatmap.svg"));
    QCOMPARE(PlotExport::savePlot(&plot, path), QString());
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString svg = QString::fromUtf8(file.readAll());
    QVERIFY2(svg.count(QLatin1String("<rect")) >= tokens * experts,
             qPrintable(QString::number(svg.count(QLatin1String("<rect")))));
    QVERIFY(!svg.contains(QLatin1String("<image")));
    QCPColorGradient gradient(QCPColorGradient::gpThermal);
    for (double value : {0.0, 0.5, 1.0})
      QVERIFY(
          svg.contains(QColor(gradient.color(value, QCPRange(0, 1))).name(), Qt::CaseInsensitive));
    QVERIFY(map->visible());
    QVERIFY(!plot.layer(QStringLiteral("vectorCells")));
  }

  void savesWidget_data() { savesPlot_data(); }
  void savesWidget() {
    QFETCH(QString, name);
    QFETCH(QByteArray, magic);
    QLabel label(QStringLiteral("coloured token text"));
    label.resize(300, 80);
    QTemporaryDir dir;
    const QString path = dir.filePath(name);
    QCOMPARE(WidgetExport::save(&label, path), QString());
    QVERIFY(startsAsItShould(path, magic));
    QVERIFY(!WidgetExport::save(&label, dir.filePath(QStringLiteral("x.bmp"))).isEmpty());
  }

  void rejectsUnknownFormat() {
    QCustomPlot plot;
    QTemporaryDir dir;
    QVERIFY(!PlotExport::savePlot(&plot, dir.filePath(QStringLiteral("plot.bmp"))).isEmpty());
  }
};

QTEST_MAIN(TestExports)
#include "test_exports.moc"
