#include "export/plot_export.h"

#include <qcustomplot.h>

#include <QAction>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QTemporaryFile>
#include <cstdio>

namespace PlotExport {
namespace {

// QCustomPlot's savePng/savePdf take a file name, so they write a temporary
// file beside `path` that is renamed over it once complete.
QString writeViaTemporary(const QString& path, const std::function<bool(const QString&)>& write) {
  const QFileInfo target(path);
  QTemporaryFile temporary(target.absolutePath() + QStringLiteral("/.") + target.fileName() +
                           QStringLiteral(".XXXXXX.") + target.suffix());
  if (!temporary.open())
    return QStringLiteral("Cannot write %1: %2").arg(path, temporary.errorString());
  temporary.close();
  if (!write(temporary.fileName()) || QFileInfo(temporary.fileName()).size() == 0)
    return QStringLiteral("Cannot write %1: rendering the plot failed").arg(path);
  // Temporary files are private (0600); the export should read like any saved file.
  QFile::setPermissions(temporary.fileName(), QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                                  QFileDevice::ReadGroup | QFileDevice::ReadOther);
  // std::rename replaces an existing file atomically; QFile::rename refuses to.
  if (std::rename(QFile::encodeName(temporary.fileName()).constData(),
                  QFile::encodeName(target.absoluteFilePath()).constData()) != 0)
    return QStringLiteral("Cannot write %1: rename failed").arg(path);
  temporary.setAutoRemove(false);
  return {};
}

QString saveSvg(QCustomPlot* plot, const QString& path) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly))
    return QStringLiteral("Cannot write %1: %2").arg(path, file.errorString());
  QSvgGenerator generator;
  generator.setOutputDevice(&file);
  generator.setSize(plot->size());
  generator.setViewBox(QRect(QPoint(0, 0), plot->size()));
  generator.setTitle(QFileInfo(path).completeBaseName());
  QCPPainter painter;
  if (!painter.begin(&generator))
    return QStringLiteral("Cannot write %1: SVG painter failed").arg(path);
  plot->toPainter(&painter, plot->width(), plot->height());
  painter.end();
  if (!file.commit()) return QStringLiteral("Cannot write %1: %2").arg(path, file.errorString());
  return {};
}

}  // namespace

QString savePlot(QCustomPlot* plot, const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix == QLatin1String("png"))
    return writeViaTemporary(path, [plot](const QString& file) {
      return plot->savePng(file, plot->width(), plot->height(), 2.0);
    });
  if (suffix == QLatin1String("pdf"))
    return writeViaTemporary(path, [plot](const QString& file) {
      return plot->savePdf(file, plot->width(), plot->height(), QCP::epNoCosmetic,
                           QStringLiteral("moescope"));
    });
  if (suffix == QLatin1String("svg")) return saveSvg(plot, path);
  return QStringLiteral("Unknown plot format \"%1\": use .png, .pdf or .svg").arg(suffix);
}

}  // namespace PlotExport

ExportActions::ExportActions(QCustomPlot* plot, std::function<CsvTable()> table, QWidget* parent)
    : QObject(parent), plot_(plot), table_(std::move(table)), dialogParent_(parent) {
  plotAction_ = new QAction(tr("Export plot…"), this);
  connect(plotAction_, &QAction::triggered, this, &ExportActions::exportPlot);
  if (table_) {
    tableAction_ = new QAction(tr("Export table…"), this);
    connect(tableAction_, &QAction::triggered, this, &ExportActions::exportTable);
    plot_->addAction(tableAction_);
  }
  plot_->insertAction(tableAction_, plotAction_);  // the plot's right-click menu
  plot_->setContextMenuPolicy(Qt::ActionsContextMenu);
}

void ExportActions::exportPlot() {
  QString selected;
  QString path = QFileDialog::getSaveFileName(
      dialogParent_, tr("Export plot"), QString(),
      tr("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)"), &selected);
  if (path.isEmpty()) return;
  if (QFileInfo(path).suffix().isEmpty())  // take the format from the chosen filter
    path += QLatin1Char('.') + selected.section(QLatin1String("*."), 1).chopped(1);
  reportError(PlotExport::savePlot(plot_, path));
}

void ExportActions::exportTable() {
  QString path = QFileDialog::getSaveFileName(dialogParent_, tr("Export table"), QString(),
                                              tr("CSV table (*.csv)"));
  if (path.isEmpty()) return;
  if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".csv");
  reportError(TableExport::writeCsv(table_(), path));
}

void ExportActions::reportError(const QString& message) {
  if (!message.isEmpty()) QMessageBox::warning(dialogParent_, tr("Export failed"), message);
}
