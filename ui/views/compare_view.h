#pragma once
// A baseline and an intervened generation side by side, with a token-level
// LCS diff over the generated tokens: baseline tokens the intervention
// dropped are struck out in red, tokens it introduced are marked in green.
#include <QWidget>
#include <vector>

#include "io/snapshot.h"

class QLabel;
class QTextBrowser;

class CompareView : public QWidget {
  Q_OBJECT

 public:
  explicit CompareView(QWidget* parent = nullptr);

  // Prompt tokens are skipped; only generated tokens are compared.
  void setRuns(const std::vector<moescope::SnapshotToken>& baseline,
               const std::vector<moescope::SnapshotToken>& intervened);

  // e.g. "First divergence at generated token 3 · 2 of 5 intervened tokens differ
  // (1 baseline token removed)"; token numbers count from 1.
  QString summary() const;

 private:
  QLabel* summary_;
  QTextBrowser* baseline_;
  QTextBrowser* intervened_;
};
