#include "experiments/experiment_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QVBoxLayout>

#include "analysis/experiment_models.h"
#include "experiments/experiment_plot.h"
#include "export/plot_export.h"
#include "export/table_export.h"
#include "io/atomic_file.h"
#include "plots/heatmap_plot.h"

using namespace moescope;

namespace {

enum ModelsChoice { bundledPair, currentModel };
enum TextsChoice { bundledTexts, chosenTexts };

CsvTable csvOf(const ExperimentResultPtr& result) {
  CsvTable table;
  if (!result) return table;
  for (const std::string& c : result->table.columns) table.header << QString::fromStdString(c);
  for (const auto& row : result->table.rows) {
    QStringList cells;
    for (const nlohmann::json& cell : row)
      cells << QString::fromStdString(cell.is_string() ? cell.get<std::string>() : cell.dump());
    table.rows << cells;
  }
  return table;
}

QStringList bundledTextFiles() {
  QStringList files;
  for (const auto& f : text_files_in(default_text_set_dir()))
    files << QString::fromStdString(f.string());
  return files;
}

}  // namespace

ExperimentPanel::ExperimentPanel(QWidget* parent)
    : QWidget(parent),
      experimentBox_(new QComboBox(this)),
      modelsBox_(new QComboBox(this)),
      textsBox_(new QComboBox(this)),
      tokensSpin_(new QSpinBox(this)),
      viewBox_(new QComboBox(this)),
      runButton_(new QPushButton(tr("Run"), this)),
      exportButton_(new QPushButton(tr("Export result…"), this)),
      progress_(new QProgressBar(this)),
      description_(new QLabel(this)),
      findings_(new QLabel(this)),
      plot_(new ExperimentPlot(this)) {
  for (const ExperimentInfo& e : experiment_catalogue())
    experimentBox_->addItem(QString::fromStdString(e.title), QString::fromStdString(e.name));
  modelsBox_->addItem(QString());  // the experiment's bundled models, named by nameBundledModels
  textsBox_->addItem(tr("Bundled held-out texts (one per domain)"));
  textsBox_->addItem(tr("Choose text files…"));
  tokensSpin_->setRange(128, 1 << 20);
  tokensSpin_->setSingleStep(256);
  tokensSpin_->setValue(1024);
  tokensSpin_->setToolTip(tr("Tokens read from each text; more is slower and steadier"));
  viewBox_->setVisible(false);
  progress_->setVisible(false);
  description_->setWordWrap(true);
  findings_->setWordWrap(true);
  findings_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QFont big = findings_->font();
  big.setPointSizeF(big.pointSizeF() * 1.1);
  findings_->setFont(big);

  auto* form = new QFormLayout;
  form->addRow(tr("Experiment"), experimentBox_);
  form->addRow(tr("Models"), modelsBox_);
  form->addRow(tr("Texts"), textsBox_);
  form->addRow(tr("Tokens per text"), tokensSpin_);
  exportButton_->setObjectName(QStringLiteral("exportResultButton"));
  exportButton_->setToolTip(
      tr("The whole result as JSON (table, curves and heatmaps), or its table as CSV"));
  exportButton_->setEnabled(false);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(runButton_);
  buttons->addWidget(exportButton_);
  auto* controls = new QVBoxLayout;
  controls->addLayout(form);
  controls->addLayout(buttons);
  controls->addWidget(progress_);
  controls->addWidget(description_);
  controls->addStretch();
  auto* controlBox = new QWidget(this);
  controlBox->setLayout(controls);
  controlBox->setMaximumWidth(470);

  auto* results = new QVBoxLayout;
  results->addWidget(findings_);
  results->addWidget(viewBox_);
  results->addWidget(plot_, 1);
  auto* layout = new QHBoxLayout(this);
  layout->addWidget(controlBox);
  layout->addLayout(results, 1);

  // An exported plot is titled with the experiment and its models.
  const auto title = [this] {
    if (!result_) return QString();
    QStringList models;
    for (const auto& model : result_->models) models << QString::fromStdString(model);
    const QString heatmap = plot_->heatmapPlot()->isVisible()
                                ? QStringLiteral(" · ") + viewBox_->currentText()
                                : QString();
    return QStringLiteral("%1 · %2%3")
        .arg(QString::fromStdString(result_->title), models.join(QStringLiteral(", ")), heatmap);
  };
  new ExportActions(
      plot_->curvePlot(), [this] { return csvOf(result_); }, this, title);
  new ExportActions(
      plot_->heatmapPlot(), [this] { return csvOf(result_); }, this, title);

  connect(experimentBox_, &QComboBox::currentIndexChanged, this, [this] {
    updateDescription();
    clearResult(tr("Press Run to see this experiment's result."));
  });
  connect(modelsBox_, &QComboBox::currentIndexChanged, this, &ExperimentPanel::updateEngineOnly);
  connect(textsBox_, &QComboBox::activated, this, [this](int index) {
    if (index == chosenTexts) chooseTexts();
  });
  connect(viewBox_, &QComboBox::currentIndexChanged, this, &ExperimentPanel::showHeatmap);
  connect(runButton_, &QPushButton::clicked, this,
          [this] { busy_ ? emit cancelRequested() : run(); });
  connect(exportButton_, &QPushButton::clicked, this, &ExperimentPanel::exportResult);
  updateDescription();
  clearResult(tr("Press Run to see this experiment's result."));
}

void ExperimentPanel::clearResult(const QString& message) {
  result_.reset();
  exportButton_->setEnabled(false);
  findings_->setText(message);
  viewBox_->setVisible(false);
  plot_->clear(message);
}

void ExperimentPanel::setCurrentModel(const QString& dir, const QString& name) {
  currentModelDir_ = dir;
  servedModel_ = {};
  const QString label = tr("Loaded model: %1").arg(name);
  if (modelsBox_->count() == 1)
    modelsBox_->addItem(label);
  else
    modelsBox_->setItemText(currentModel, label);
  updateEngineOnly();
}

void ExperimentPanel::setServedModel(const ServerJob& server, const QString& name) {
  setCurrentModel({}, name);
  servedModel_ = server;
  modelsBox_->setItemText(currentModel, tr("Served model: %1").arg(name));
  updateEngineOnly();
}

void ExperimentPanel::updateEngineOnly() {
  const bool served = !servedModel_.url.isEmpty() && modelsBox_->currentIndex() == currentModel;
  auto* items = qobject_cast<QStandardItemModel*>(experimentBox_->model());
  const auto& catalogue = experiment_catalogue();
  for (int i = 0; i < int(catalogue.size()); ++i) {
    QStandardItem* item = items->item(i);
    const bool off = served && catalogue[i].needs_engine;
    item->setEnabled(!off);
    item->setToolTip(off ? tr("Measures the model's loss with experts switched off: needs the "
                              "local engine (a served model gives its routing only)")
                         : QString());
  }
  if (served && catalogue[experimentBox_->currentIndex()].needs_engine)
    for (int i = 0; i < int(catalogue.size()); ++i)
      if (!catalogue[i].needs_engine) {
        experimentBox_->setCurrentIndex(i);
        break;
      }
  updateDescription();
}

void ExperimentPanel::select(const QString& experiment, bool pair) {
  experimentBox_->setCurrentIndex(std::max(0, experimentBox_->findData(experiment)));
  modelsBox_->setCurrentIndex(pair || modelsBox_->count() == 1 ? bundledPair : currentModel);
}

void ExperimentPanel::run() {
  if (busy_) return;
  try {
    emit runRequested(job());
  } catch (const EngineError& e) {  // the bundled texts are missing
    showError(QString::fromStdString(e.what()));
  }
}

void ExperimentPanel::setTokensPerText(int tokens) {
  tokensSpin_->setValue(tokens);
}

ExperimentJob ExperimentPanel::job() const {
  ExperimentJob job;
  job.experiment = experimentBox_->currentData().toString();
  if (modelsBox_->currentIndex() == currentModel && !servedModel_.url.isEmpty())
    job.server = servedModel_;
  else if (modelsBox_->currentIndex() == currentModel)
    job.modelDirs << currentModelDir_;
  else
    for (const auto& dir : default_models(job.experiment.toStdString()))
      job.modelDirs << QString::fromStdString(dir.string());
  job.textFiles = textsBox_->currentIndex() == chosenTexts ? chosenTexts_ : bundledTextFiles();
  job.settings.eval.tokens_per_label = tokensSpin_->value();
  return job;
}

void ExperimentPanel::chooseTexts() {
  const QStringList files =
      QFileDialog::getOpenFileNames(this, tr("Texts to run the experiment on (one label per file)"),
                                    QString(), tr("Text files (*.txt);;All files (*)"));
  if (files.isEmpty()) {
    if (chosenTexts_.isEmpty()) textsBox_->setCurrentIndex(bundledTexts);
    return;
  }
  chosenTexts_ = files;
  textsBox_->setItemText(chosenTexts, tr("%n chosen file(s)…", nullptr, int(files.size())));
}

void ExperimentPanel::setBusy(bool busy) {
  busy_ = busy;
  runButton_->setText(busy ? tr("Cancel") : tr("Run"));
  for (QWidget* w : {static_cast<QWidget*>(experimentBox_), static_cast<QWidget*>(modelsBox_),
                     static_cast<QWidget*>(textsBox_), static_cast<QWidget*>(tokensSpin_)})
    w->setEnabled(!busy);
  progress_->setVisible(busy);
  if (busy) {
    progress_->setValue(0);
    clearResult(tr("Running…"));  // nothing of an earlier run stays under this one
  }
}

void ExperimentPanel::showProgress(long done, long total) {
  progress_->setMaximum(1000);
  progress_->setValue(total ? static_cast<int>(1000 * done / total) : 0);
  progress_->setFormat(tr("%1 of %2 tokens").arg(done).arg(total));
}

void ExperimentPanel::showResult(const ExperimentResultPtr& result) {
  result_ = result;
  exportButton_->setEnabled(true);
  QStringList lines;
  for (const std::string& line : result->findings)
    lines << QString::fromStdString(line).toHtmlEscaped();
  findings_->setText(
      QStringLiteral("<b>%1</b><br>%2")
          .arg(QString::fromStdString(result->title).toHtmlEscaped(), lines.join("<br>")));
  const QSignalBlocker blocker(viewBox_);
  viewBox_->clear();
  for (const HeatmapFigure& h : result->heatmaps)
    viewBox_->addItem(QString::fromStdString(h.title));
  viewBox_->setVisible(result->heatmaps.size() > 1);
  if (result->curves)
    plot_->showCurves(*result->curves, result->models);
  else if (!result->heatmaps.empty())
    showHeatmap(0);
}

void ExperimentPanel::showHeatmap(int index) {
  if (result_ && index >= 0 && index < static_cast<int>(result_->heatmaps.size()))
    plot_->showHeatmap(result_->heatmaps[index]);
}

void ExperimentPanel::showCancelled() {
  clearResult(tr("Cancelled."));
}

void ExperimentPanel::showError(const QString& message) {
  clearResult(tr("The experiment failed."));
  QMessageBox::warning(this, tr("Experiment failed"), message);
}

void ExperimentPanel::nameBundledModels() {
  QStringList names;
  for (const auto& dir : default_models(experimentBox_->currentData().toString().toStdString()))
    names << QString::fromStdString(dir.filename().string());
  modelsBox_->setItemText(bundledPair, tr("Bundled: %1").arg(names.join(tr(" vs "))));
}

void ExperimentPanel::updateDescription() {
  const auto& catalogue = experiment_catalogue();
  const int i = experimentBox_->currentIndex();
  if (i < 0 || i >= static_cast<int>(catalogue.size())) return;
  nameBundledModels();
  const bool served = !servedModel_.url.isEmpty() && modelsBox_->currentIndex() == currentModel;
  description_->setText(
      QStringLiteral("<i>%1</i><br>%2%3")
          .arg(QString::fromStdString(catalogue[i].source).toHtmlEscaped(),
               QString::fromStdString(catalogue[i].summary).toHtmlEscaped(),
               served ? tr("<br><br>On the served model: each text window goes to %1 as "
                           "token ids and its routing comes back (at most %2 requests a "
                           "second). The loss-based experiments need the local engine.")
                            .arg(servedModel_.url.toHtmlEscaped())
                            .arg(ExperimentJob{}.requestsPerSecond)
                      : QString()));
}

void ExperimentPanel::exportResult() {
  const QString json = tr("JSON: table, curves and heatmaps (*.json)");
  const QString csv = tr("CSV: the result table (*.csv)");
  QString filter;
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export experiment result"), QString::fromStdString(result_->experiment) + ".json",
      json + QStringLiteral(";;") + csv, &filter);
  if (path.isEmpty()) return;
  QString error;
  try {
    if (filter == csv || path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive))
      error = TableExport::writeCsv(csvOf(result_), path);
    else
      write_file_atomically(path.toStdString(), to_json(*result_).dump(1) + "\n");
  } catch (const EngineError& e) {
    error = QString::fromStdString(e.what());
  }
  if (!error.isEmpty()) QMessageBox::warning(this, tr("Export failed"), error);
}
