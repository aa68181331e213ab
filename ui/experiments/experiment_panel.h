#pragma once
// The Experiments panel: pick one of the papers' analyses, the models (the
// bundled pair or the loaded model) and the texts, run it with progress and
// cancel, and read the result as a plot, findings and an exportable table.
#include <QWidget>

#include "jobs/experiment_job.h"

class ExperimentPlot;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

class ExperimentPanel : public QWidget {
  Q_OBJECT

 public:
  explicit ExperimentPanel(QWidget* parent = nullptr);

  // The model open in the window, offered as an alternative to the bundled pair.
  void setCurrentModel(const QString& dir, const QString& name);
  // A served model in its place: chosen, only the routing analyses can run (the
  // loss-based ones are greyed out, saying why).
  void setServedModel(const ServerJob& server, const QString& name);

  ExperimentJob job() const;
  const ExperimentResultPtr& result() const { return result_; }
  ExperimentPlot* plot() const { return plot_; }

 public slots:
  void setBusy(bool busy);
  void showProgress(long done, long total);
  void showResult(const ExperimentResultPtr& result);
  void showCancelled();
  void showError(const QString& message);
  // Selects an experiment (catalogue name) and its models, as a lesson step does.
  void select(const QString& experiment, bool bundledPair);
  void setTokensPerText(int tokens);
  void run();  // as pressing Run; nothing while a run is in flight

 signals:
  void runRequested(const ExperimentJob& job);
  void cancelRequested();

 private:
  void chooseTexts();
  void showHeatmap(int index);
  void updateDescription();
  void nameBundledModels();  // the first Models entry: what the experiment runs on by default
  void exportResult();       // JSON (everything) or CSV (the table)
  void clearResult(const QString& message);
  void updateEngineOnly();  // grey out the loss-based experiments for a served model

  QComboBox* experimentBox_;
  QComboBox* modelsBox_;
  QComboBox* textsBox_;
  QSpinBox* tokensSpin_;
  QComboBox* viewBox_;  // which heatmap of the result
  QPushButton* runButton_;
  QPushButton* exportButton_;
  QProgressBar* progress_;
  QLabel* description_;
  QLabel* findings_;
  ExperimentPlot* plot_;
  QStringList chosenTexts_;
  QString currentModelDir_;
  ServerJob servedModel_;  // url empty: the current model is a local one
  ExperimentResultPtr result_;
  bool busy_ = false;
};
