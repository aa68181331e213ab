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

#include "export/vector_cells.h"

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
  const VectorCells cells(plot);  // sharp at any zoom, unlike an embedded bitmap
  QCPPainter painter;
  if (!painter.begin(&generator))
    return QStringLiteral("Cannot write %1: SVG painter failed").arg(path);
  plot->toPainter(&painter, plot->width(), plot->height());
  painter.end();
  if (!file.commit()) return QStringLiteral("Cannot write %1: %2").arg(path, file.errorString());
  return {};
}

// For the length of one export: a title row above the plot and, for slides,
// black on white; the destructor puts the plot back as it was.
class ExportStyle {
 public:
  ExportStyle(QCustomPlot* plot, const PlotExport::Options& options) : plot_(plot) {
    if (options.whiteBackground) whiten();
    if (!options.title.isEmpty()) {
      plot_->plotLayout()->insertRow(0);
      title_ = new QCPTextElement(plot_, options.title);
      QFont font = plot_->font();
      font.setPointSizeF(font.pointSizeF() * 1.1);
      font.setBold(true);
      title_->setFont(font);
      title_->setTextColor(options.whiteBackground ? QColor(Qt::black)
                                                   : plot_->palette().color(QPalette::WindowText));
      plot_->plotLayout()->addElement(0, 0, title_);
    }
    plot_->replot(QCustomPlot::rpImmediateRefresh);
  }
  ~ExportStyle() {
    if (title_) {
      plot_->plotLayout()->remove(title_);
      plot_->plotLayout()->simplify();  // the empty title row goes too
    }
    for (auto restore = restores_.rbegin(); restore != restores_.rend(); ++restore) (*restore)();
    plot_->replot(QCustomPlot::rpQueuedReplot);
  }
  ExportStyle(const ExportStyle&) = delete;
  ExportStyle& operator=(const ExportStyle&) = delete;

 private:
  template <typename Get, typename Set, typename Value>
  void swap(Get get, Set set, const Value& value) {
    restores_.push_back([set, old = get()] { set(old); });
    set(value);
  }

  // What applyPlotPalette drew in the palette's colours, in black on white;
  // other colours (experts, switched-off red) stay.
  void whiten() {
    const QBrush white(Qt::white);
    const QColor black(Qt::black);
    const QColor ink = plot_->palette().color(QPalette::WindowText);
    restores_.push_back(
        [this, brush = plot_->palette().brush(QPalette::Window)] { plot_->setBackground(brush); });
    plot_->setBackground(white);
    for (QCPAxisRect* rect : plot_->axisRects()) {
      swap([rect] { return rect->backgroundBrush(); },
           [rect](const QBrush& b) { rect->setBackground(b); }, white);
      for (QCPAxis* axis : rect->axes()) whitenAxis(axis);
    }
    for (int i = 0; i < plot_->plotLayout()->elementCount(); ++i)
      if (auto* scale = qobject_cast<QCPColorScale*>(plot_->plotLayout()->elementAt(i)))
        whitenAxis(scale->axis());
    for (int i = 0; i < plot_->plottableCount(); ++i) {
      QCPAbstractPlottable* plottable = plot_->plottable(i);
      if (plottable->pen().color() == ink) {
        QPen pen = plottable->pen();
        pen.setColor(black);
        swap([plottable] { return plottable->pen(); },
             [plottable](const QPen& p) { plottable->setPen(p); }, pen);
      }
      if (plottable->brush().color() == ink) {
        QBrush brush = plottable->brush();
        brush.setColor(black);
        swap([plottable] { return plottable->brush(); },
             [plottable](const QBrush& b) { plottable->setBrush(b); }, brush);
      }
    }
    for (int i = 0; i < plot_->itemCount(); ++i) {
      if (auto* text = qobject_cast<QCPItemText*>(plot_->item(i)); text && text->color() == ink)
        swap([text] { return text->color(); }, [text](const QColor& c) { text->setColor(c); },
             black);
      if (auto* line = qobject_cast<QCPItemStraightLine*>(plot_->item(i));
          line && line->pen().color() == ink) {
        QPen pen = line->pen();
        pen.setColor(black);
        swap([line] { return line->pen(); }, [line](const QPen& p) { line->setPen(p); }, pen);
      }
    }
  }

  void whitenAxis(QCPAxis* axis) {
    const QColor black(Qt::black);
    swap([axis] { return axis->basePen(); }, [axis](const QPen& p) { axis->setBasePen(p); },
         QPen(black));
    swap([axis] { return axis->tickPen(); }, [axis](const QPen& p) { axis->setTickPen(p); },
         QPen(black));
    swap([axis] { return axis->subTickPen(); }, [axis](const QPen& p) { axis->setSubTickPen(p); },
         QPen(black));
    swap([axis] { return axis->tickLabelColor(); },
         [axis](const QColor& c) { axis->setTickLabelColor(c); }, black);
    swap([axis] { return axis->labelColor(); }, [axis](const QColor& c) { axis->setLabelColor(c); },
         black);
  }

  QCustomPlot* plot_;
  QCPTextElement* title_ = nullptr;
  std::vector<std::function<void()>> restores_;  // each sets one old value back
};

}  // namespace

QString savePlot(QCustomPlot* plot, const QString& path, const Options& options) {
  const ExportStyle style(plot, options);
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

ExportActions::ExportActions(QCustomPlot* plot, std::function<CsvTable()> table, QWidget* parent,
                             std::function<QString()> title)
    : QObject(parent),
      plot_(plot),
      table_(std::move(table)),
      title_(std::move(title)),
      dialogParent_(parent) {
  plotAction_ = new QAction(tr("Export plot…"), this);
  connect(plotAction_, &QAction::triggered, this, [this] { exportPlot(false); });
  slideAction_ = new QAction(tr("Export plot for slides (white background)…"), this);
  connect(slideAction_, &QAction::triggered, this, [this] { exportPlot(true); });
  if (table_) {
    tableAction_ = new QAction(tr("Export table…"), this);
    connect(tableAction_, &QAction::triggered, this, &ExportActions::exportTable);
  }
  plot_->addActions({plotAction_, slideAction_});  // the plot's right-click menu
  if (tableAction_) plot_->addAction(tableAction_);
  plot_->setContextMenuPolicy(Qt::ActionsContextMenu);
}

void ExportActions::exportPlot(bool forSlides) {
  QString selected;
  QString path = QFileDialog::getSaveFileName(
      dialogParent_, forSlides ? tr("Export plot for slides") : tr("Export plot"), QString(),
      tr("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)"), &selected);
  if (path.isEmpty()) return;
  if (QFileInfo(path).suffix().isEmpty())  // take the format from the chosen filter
    path += QLatin1Char('.') + selected.section(QLatin1String("*."), 1).chopped(1);
  reportError(PlotExport::savePlot(plot_, path, {title(), forSlides}));
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
