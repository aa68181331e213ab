#pragma once
// Saving plots as PNG (2x), PDF and SVG, atomically, and the "Export plot…" /
// "Export table…" actions every plot panel offers.
#include <QObject>
#include <QString>
#include <functional>

#include "export/table_export.h"

class QAction;
class QCustomPlot;
class QWidget;

namespace PlotExport {

// The format follows the extension (png, pdf, svg). Returns an empty string on
// success or the error message; on failure no file is left at `path`.
QString savePlot(QCustomPlot* plot, const QString& path);

}  // namespace PlotExport

class ExportActions : public QObject {
  Q_OBJECT

 public:
  // Adds "Export plot…" (and "Export table…" unless `table` is empty) to the
  // plot's right-click menu.
  ExportActions(QCustomPlot* plot, std::function<CsvTable()> table, QWidget* parent);

  QAction* plotAction() const { return plotAction_; }
  QAction* tableAction() const { return tableAction_; }  // nullptr without a table

 private:
  void exportPlot();
  void exportTable();
  void reportError(const QString& message);

  QCustomPlot* plot_;
  std::function<CsvTable()> table_;
  QWidget* dialogParent_;
  QAction* plotAction_;
  QAction* tableAction_ = nullptr;
};
