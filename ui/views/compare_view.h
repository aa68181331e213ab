#pragma once
// A baseline and an intervened generation side by side, as a lesson: the
// header names the switch, a token-level LCS diff marks what changed
// (baseline tokens the intervention dropped struck out in red, tokens it
// introduced in green), per layer where the switched-off experts' load went,
// and per token of the baseline how far the switches moved the model's
// next-token distribution on that same text (teacher-forced KL).
#include <QVector>
#include <QWidget>
#include <vector>

#include "io/snapshot.h"
#include "run/interventions.h"

class QCustomPlot;
class QLabel;
class QTextBrowser;
struct CsvTable;

class CompareView : public QWidget {
  Q_OBJECT

 public:
  // What the window hands over once both runs are done.
  struct Comparison {
    std::vector<moescope::SnapshotToken> baseline, intervened;
    moescope::Interventions interventions;  // those of the intervened run
    QString interventionText;               // "12 experts off in 3 layers"
    QVector<double> nextTokenKl;            // RunStats::nextTokenKl: teacher-forced
    int comparedTokenCap = 0;               // RunStats::comparedTokenCap
    std::vector<int> moeLayers;
    int experts = 0;
  };

  explicit CompareView(QWidget* parent = nullptr);

  void showComparison(const Comparison& comparison);
  // Compare was asked for with every expert on: what to do instead.
  void showNothingSwitchedOff();

  // The text diff alone; prompt tokens are skipped, only generated ones compared.
  void setRuns(const std::vector<moescope::SnapshotToken>& baseline,
               const std::vector<moescope::SnapshotToken>& intervened);

  QString header() const;
  // e.g. "First divergence at generated token 3 · 2 of 5 intervened tokens differ
  // (1 baseline token removed)"; token numbers count from 1.
  QString summary() const;
  QStringList routingShift() const;  // one line per MoE layer
  QString divergenceSummary() const;
  QCustomPlot* divergencePlot() const { return klPlot_; }
  CsvTable divergenceTable() const;  // generated token, both pieces, KL

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void showDivergence(const QVector<double>& kl, int cap);
  // The header and the texts a step larger than the window's font, which the
  // main window's zoom and presentation mode set.
  void applyFonts();

  QLabel* header_;
  QLabel* summary_;
  QTextBrowser* baseline_;
  QTextBrowser* intervened_;
  QLabel* shift_;
  QLabel* divergence_;
  QCustomPlot* klPlot_;
  QStringList shiftLines_;
  // The generated tokens of the baseline and of the switched run.
  std::vector<moescope::SnapshotToken> beforeTokens_, afterTokens_;
  QVector<double> kl_;
  int firstDivergence_ = 0;  // generated tokens before the texts part
};
