#pragma once
// Switches routed experts off, per MoE layer or in all layers at once, drops
// the shared experts, overrides the number of active experts (k), and for
// DeepSeek-V2/V3 gates drops the balancing bias or the group limit. The
// result is a moescope::Interventions the next generation run uses.
#include <QWidget>
#include <vector>

#include "model/config.h"
#include "run/interventions.h"

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QPushButton;
class QSpinBox;

class ExpertMaskPanel : public QWidget {
  Q_OBJECT

 public:
  explicit ExpertMaskPanel(QWidget* parent = nullptr);

  // Rebuilds the layer list and the expert grid; clears the interventions.
  void setModelConfig(const moescope::ModelConfig& config);
  moescope::Interventions interventions() const { return interventions_; }
  void setInterventions(const moescope::Interventions& interventions);

 signals:
  void interventionsChanged();

 private:
  int currentLayer() const;  // a layer index or Interventions::all_layers
  void rebuildGrid();
  void refresh();  // buttons, shared toggle and k from interventions_
  void toggleExpert(int expert);
  void toggleShared(bool on);
  void reset();

  moescope::ModelConfig config_;
  moescope::Interventions interventions_;
  QComboBox* layerCombo_;
  QGridLayout* grid_;
  std::vector<QPushButton*> expertButtons_;
  QCheckBox* sharedToggle_;
  QCheckBox* biasToggle_;   // checked: V3 selects by score + bias, as trained
  QCheckBox* groupToggle_;  // checked: only the best groups are reachable, as trained
  QSpinBox* topKSpin_;
  QLabel* summary_;
};
