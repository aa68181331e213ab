// CSV contents, plot files in every format, and failures that leave no file.
#include <qcustomplot.h>

#include <QTemporaryDir>
#include <QtTest>

#include "export/plot_export.h"
#include "export/table_export.h"
#include "support/synthetic_run.h"

class TestExports : public QObject {
  Q_OBJECT

 private slots:
  void layerExpertCsv() {
    const CsvTable table = TableExport::layerExpertTable({1, 2}, {{3, 0, 1.5}, {0.25, 2, 0}});
    QCOMPARE(TableExport::toCsv(table), QStringLiteral("layer,expert_0,expert_1,expert_2\n"
                                                       "1,3,0,1.5\n"
                                                       "2,0.25,2,0\n"));
  }

  void tokenExpertCsvQuotesPieces() {
    const auto tokens = synthetic::tokens(4, 4);  // " said", "\n", " \"hi\"", " go"
    const CsvTable table =
        TableExport::tokenExpertTable(tokens, {{1, 0}, {0, 0.5}, {0, 0}, {1, 1}});
    QCOMPARE(TableExport::toCsv(table), QStringLiteral("position,token,expert_0,expert_1\n"
                                                       "4, said,1,0\n"
                                                       "5,\"\n\",0,0.5\n"
                                                       "6,\" \"\"hi\"\"\",0,0\n"
                                                       "7, go,1,1\n"));
  }

  void writesCsvFile() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("load.csv"));
    const CsvTable table = TableExport::layerExpertTable({1}, {{1, 2}});
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
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    QVERIFY(!bytes.isEmpty());
    if (name.endsWith(QLatin1String("svg")))
      QVERIFY(bytes.contains(magic));  // after the XML declaration
    else
      QVERIFY(bytes.startsWith(magic));
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
            ? TableExport::writeCsv(TableExport::layerExpertTable({1}, {{1}}), path)
            : PlotExport::savePlot(&plot, path);
    QVERIFY(!error.isEmpty());
    QVERIFY2(error.contains(path), qPrintable(error));
    QVERIFY(!QFile::exists(path));
  }

  void rejectsUnknownFormat() {
    QCustomPlot plot;
    QTemporaryDir dir;
    QVERIFY(!PlotExport::savePlot(&plot, dir.filePath(QStringLiteral("plot.bmp"))).isEmpty());
  }
};

QTEST_MAIN(TestExports)
#include "test_exports.moc"
