#include "panels/expert_mask_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStyle>
#include <QVBoxLayout>
#include <cmath>

#include "panels/switch_summary.h"

namespace {

using moescope::Interventions;

// An off expert is a solid red, struck-through button: nothing like a disabled
// (greyed) one, in light and dark themes alike. "partial" (All layers view: off
// in some layers only) is amber with a dashed red border.
constexpr auto buttonStyle =
    "QPushButton[switchState] { min-width: 2.2em; padding: 2px; }"
    "QPushButton[switchState=\"off\"] { background: #c62828; color: white; font-weight: bold;"
    " text-decoration: line-through; border: 1px solid #7f0000; border-radius: 3px; }"
    "QPushButton[switchState=\"off\"]:disabled { background: #8e2424; color: #f0f0f0; }"
    "QPushButton[switchState=\"partial\"] { background: #ffc04d; color: black;"
    " border: 2px dashed #c62828; border-radius: 3px; }";

void setSwitchState(QPushButton* button, const char* state) {
  if (button->property("switchState").toString() == QLatin1String(state)) return;
  button->setProperty("switchState", QLatin1String(state));
  button->style()->unpolish(button);  // a dynamic property selector needs a re-polish
  button->style()->polish(button);
}

}  // namespace

ExpertMaskPanel::ExpertMaskPanel(QWidget* parent)
    : QWidget(parent),
      layerCombo_(new QComboBox),
      grid_(new QGridLayout),
      sharedToggle_(new QCheckBox(tr("Shared experts on"))),
      biasToggle_(new QCheckBox(tr("Select with the balancing bias"))),
      groupToggle_(new QCheckBox(tr("Group limit"))),
      topKSpin_(new QSpinBox),
      summary_(new QLabel) {
  layerCombo_->setObjectName(QStringLiteral("layerCombo"));
  sharedToggle_->setObjectName(QStringLiteral("sharedToggle"));
  biasToggle_->setObjectName(QStringLiteral("biasToggle"));
  biasToggle_->setToolTip(
      tr("DeepSeek-V3 ranks experts by score + a per-expert bias that training moved to balance "
         "the load. Off: the raw scores select (the gate weights stay the same)."));
  groupToggle_->setObjectName(QStringLiteral("groupToggle"));
  groupToggle_->setToolTip(
      tr("The gate first keeps the best groups of experts and picks the top-k inside them. "
         "Off: every expert is reachable."));
  topKSpin_->setObjectName(QStringLiteral("topKSpin"));
  topKSpin_->setSpecialValueText(tr("model default"));
  topKSpin_->setToolTip(tr("How many routed experts each token uses (0 = the model's own k)"));
  summary_->setObjectName(QStringLiteral("switchSummary"));
  summary_->setWordWrap(true);
  setStyleSheet(QString::fromLatin1(buttonStyle));
  auto* resetButton = new QPushButton(tr("Reset"));
  resetButton->setObjectName(QStringLiteral("resetButton"));

  auto* form = new QFormLayout;
  form->addRow(tr("Layer"), layerCombo_);
  form->addRow(tr("Active experts (k)"), topKSpin_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  // Whole-gate switches above the grid, in view on a small screen.
  layout->addWidget(biasToggle_);
  layout->addWidget(groupToggle_);
  layout->addWidget(new QLabel(tr("Click an expert to switch it off:")));
  grid_->setSpacing(2);
  layout->addLayout(grid_);
  layout->addWidget(sharedToggle_);
  layout->addWidget(resetButton);
  layout->addWidget(summary_);
  layout->addStretch();

  connect(layerCombo_, &QComboBox::currentIndexChanged, this, &ExpertMaskPanel::refresh);
  connect(sharedToggle_, &QCheckBox::toggled, this, &ExpertMaskPanel::toggleShared);
  connect(biasToggle_, &QCheckBox::toggled, this, [this](bool on) {
    interventions_.select_without_bias = !on;
    refresh();
    emit interventionsChanged();
  });
  connect(groupToggle_, &QCheckBox::toggled, this, [this](bool on) {
    interventions_.no_group_limit = !on;
    refresh();
    emit interventionsChanged();
  });
  connect(topKSpin_, &QSpinBox::valueChanged, this, [this](int k) {
    if (k == 0)
      interventions_.top_k.reset();
    else
      interventions_.top_k = k;
    refresh();
    emit interventionsChanged();
  });
  connect(resetButton, &QPushButton::clicked, this, &ExpertMaskPanel::reset);
  setEnabled(false);  // until a model or snapshot says how many experts there are
}

void ExpertMaskPanel::setModelConfig(const moescope::ModelConfig& config) {
  config_ = config;
  interventions_ = {};
  {
    const QSignalBlocker blocker(layerCombo_);
    layerCombo_->clear();
    layerCombo_->addItem(tr("All layers"), Interventions::all_layers);
    for (int layer = 0; layer < config.num_hidden_layers; ++layer)
      if (config.is_moe_layer(layer)) layerCombo_->addItem(tr("Layer %1").arg(layer), layer);
  }
  topKSpin_->setRange(0, config.n_routed_experts);
  rebuildGrid();
  refresh();
  setEnabled(config.n_routed_experts > 0);
  emit interventionsChanged();
}

void ExpertMaskPanel::setInterventions(const moescope::Interventions& interventions) {
  interventions_ = interventions;
  refresh();
  emit interventionsChanged();
}

int ExpertMaskPanel::currentLayer() const {
  return layerCombo_->currentIndex() < 0 ? Interventions::all_layers
                                         : layerCombo_->currentData().toInt();
}

void ExpertMaskPanel::rebuildGrid() {
  for (QPushButton* button : expertButtons_) delete button;
  expertButtons_.clear();
  const int n = config_.n_routed_experts;
  const int columns = std::max(1, int(std::ceil(std::sqrt(double(n)))));  // a square-ish grid
  for (int expert = 0; expert < n; ++expert) {
    auto* button = new QPushButton(QString::number(expert));
    button->setObjectName(QStringLiteral("expert%1").arg(expert));
    button->setCheckable(true);  // checked = switched off
    connect(button, &QPushButton::clicked, this, [this, expert] { toggleExpert(expert); });
    grid_->addWidget(button, expert / columns, expert % columns);
    expertButtons_.push_back(button);
  }
}

void ExpertMaskPanel::refresh() {
  const int layer = currentLayer();
  const bool allLayers = layer == Interventions::all_layers;
  const int moeLayers = std::max(1, layerCombo_->count() - 1);
  for (int expert = 0; expert < int(expertButtons_.size()); ++expert) {
    QPushButton* button = expertButtons_[expert];
    // In a single layer, an expert switched off everywhere shows off and locked.
    const bool offEverywhere =
        interventions_.disabled_experts.count({Interventions::all_layers, expert});
    const bool off = interventions_.disabled_experts.count({layer, expert}) || offEverywhere;
    // In All layers, an expert off in some layers only says in how many.
    const int offIn =
        allLayers && !off ? SwitchSummary::layersWithExpertOff(interventions_, expert) : 0;
    button->setChecked(off);
    button->setEnabled(allLayers || !offEverywhere);
    button->setText(offIn > 0 ? QStringLiteral("%1 (%2)").arg(expert).arg(offIn)
                              : QString::number(expert));
    setSwitchState(button, off ? "off" : offIn > 0 ? "partial" : "on");
    button->setToolTip(
        !allLayers && offEverywhere ? tr("Expert %1 is off in all layers").arg(expert)
        : off                       ? tr("Expert %1 is off: click to switch it on").arg(expert)
        : offIn > 0 ? tr("Expert %1 is off in %2 of %3 layers: click to switch it off in all")
                          .arg(expert)
                          .arg(offIn)
                          .arg(moeLayers)
                    : tr("Expert %1 is on: click to switch it off").arg(expert));
  }
  {
    const QSignalBlocker blocker(sharedToggle_);
    sharedToggle_->setChecked(!interventions_.disabled_shared.count(layer));
    sharedToggle_->setVisible(config_.n_shared_experts > 0);
  }
  // Whole-gate switches: the same in every layer, shown only where the gate has them.
  {
    const QSignalBlocker blocker(biasToggle_);
    biasToggle_->setChecked(!interventions_.select_without_bias);
    biasToggle_->setVisible(config_.score_correction_bias);
  }
  {
    const QSignalBlocker blocker(groupToggle_);
    groupToggle_->setChecked(!interventions_.no_group_limit);
    groupToggle_->setVisible(config_.routes_by_groups());
  }
  {
    const QSignalBlocker blocker(topKSpin_);
    topKSpin_->setValue(interventions_.top_k.value_or(0));
  }
  summary_->setText(SwitchSummary::describe(interventions_));
}

void ExpertMaskPanel::toggleExpert(int expert) {
  const std::pair key{currentLayer(), expert};
  if (!interventions_.disabled_experts.erase(key)) interventions_.disabled_experts.insert(key);
  refresh();
  emit interventionsChanged();
}

void ExpertMaskPanel::toggleShared(bool on) {
  if (on)
    interventions_.disabled_shared.erase(currentLayer());
  else
    interventions_.disabled_shared.insert(currentLayer());
  refresh();
  emit interventionsChanged();
}

void ExpertMaskPanel::reset() {
  interventions_ = {};
  refresh();
  emit interventionsChanged();
}
