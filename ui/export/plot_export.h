#pragma once
// Saving plots as PNG (2x), PDF and SVG (heatmap cells as vector rectangles),
// atomically, and the "Export plot…" /
// "Export plot for slides…" / "Export table…" actions every plot panel offers.
// A slide export carries a title line (model, prompt excerpt, layer, metric)
// and is drawn black on white whatever the desktop's theme.
#include <QObject>
#include <QString>
#include <functional>

#include "export/table_export.h"

class QAction;
class QCustomPlot;
class QWidget;

namespace PlotExport {

struct Options {
  QString title;                 // drawn above the plot; none when empty
  bool whiteBackground = false;  // black on white instead of the widget's palette
};

// The format follows the extension (png, pdf, svg). Returns an empty string on
// success or the error message; on failure no file is left at `path`. The
// plot on screen is left as it was.
QString savePlot(QCustomPlot* plot, const QString& path, const Options& options = {});

}  // namespace PlotExport

class ExportActions : public QObject {
  Q_OBJECT

 public:
  // Adds "Export plot…", "Export plot for slides…" (and "Export table…"
  // unless `table` is empty) to the plot's right-click menu; `title` gives
  // the exported plot's title line at export time.
  ExportActions(QCustomPlot* plot, std::function<CsvTable()> table, QWidget* parent,
                std::function<QString()> title = {});

  QAction* plotAction() const { return plotAction_; }
  QAction* slideAction() const { return slideAction_; }
  QString title() const { return title_ ? title_() : QString(); }
  QAction* tableAction() const { return tableAction_; }  // nullptr without a table

 private:
  void exportPlot(bool forSlides);
  void exportTable();
  void reportError(const QString& message);

  QCustomPlot* plot_;
  std::function<CsvTable()> table_;
  std::function<QString()> title_;
  QWidget* dialogParent_;
  QAction* plotAction_;
  QAction* slideAction_;
  QAction* tableAction_ = nullptr;
};
