#include "export/widget_export.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QWidget>

namespace WidgetExport {
namespace {

QString failed(const QString& path, const QString& why) {
  return QStringLiteral("Cannot write %1: %2").arg(path, why);
}

}  // namespace

QString save(QWidget* widget, const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix != QLatin1String("png") && suffix != QLatin1String("svg") &&
      suffix != QLatin1String("pdf"))
    return QStringLiteral("Unknown format \"%1\": use .png, .pdf or .svg").arg(suffix);
  const QSize size = widget->size();
  if (size.isEmpty()) return failed(path, QStringLiteral("nothing to draw"));
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) return failed(path, file.errorString());
  bool drawn = false;
  if (suffix == QLatin1String("png")) {
    QImage image(size * 2, QImage::Format_ARGB32);
    image.setDevicePixelRatio(2.0);
    image.fill(widget->palette().color(QPalette::Window));
    widget->render(&image);
    drawn = image.save(&file, "PNG");
  } else if (suffix == QLatin1String("svg")) {
    QSvgGenerator generator;
    generator.setOutputDevice(&file);
    generator.setSize(size);
    generator.setViewBox(QRect(QPoint(0, 0), size));
    generator.setTitle(QFileInfo(path).completeBaseName());
    QPainter painter;
    drawn = painter.begin(&generator);
    if (drawn) widget->render(&painter);
  } else {
    QPdfWriter writer(&file);
    writer.setTitle(QFileInfo(path).completeBaseName());
    writer.setResolution(96);
    writer.setPageSize(QPageSize(QSizeF(size), QPageSize::Point));  // one page, the widget's size
    writer.setPageMargins(QMarginsF());
    QPainter painter;
    drawn = painter.begin(&writer);
    if (drawn) {
      painter.scale(writer.width() / double(size.width()), writer.height() / double(size.height()));
      widget->render(&painter);
    }
  }
  if (!drawn) return failed(path, QStringLiteral("rendering failed"));
  if (!file.commit()) return failed(path, file.errorString());
  return {};
}

void saveWithDialog(QWidget* widget, const QString& caption, QWidget* dialogParent) {
  QString selected;
  QString path = QFileDialog::getSaveFileName(
      dialogParent, caption, QString(),
      QObject::tr("PNG image (*.png);;PDF document (*.pdf);;SVG drawing (*.svg)"), &selected);
  if (path.isEmpty()) return;
  if (QFileInfo(path).suffix().isEmpty())
    path += QLatin1Char('.') + selected.section(QLatin1String("*."), 1).chopped(1);
  const QString error = save(widget, path);
  if (!error.isEmpty()) QMessageBox::warning(dialogParent, QObject::tr("Export failed"), error);
}

}  // namespace WidgetExport
