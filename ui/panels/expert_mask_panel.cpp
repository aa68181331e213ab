#include "panels/expert_mask_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>

namespace {

using moescope::Interventions;

// Off buttons are struck through and sunk into the palette's dark shade, so
// they read as "off" in light and dark themes alike.
constexpr auto buttonStyle =
    "QPushButton { min-width: 2.2em; padding: 2px; }"
    "QPushButton:checked { background: palette(dark); color: palette(light);"
    " text-decoration: line-through; }";

}  // namespace

ExpertMaskPanel::ExpertMaskPanel(QWidget* parent)
    : QWidget(parent),
      layerCombo_(new QComboBox),
      grid_(new QGridLayout),
      sharedToggle_(new QCheckBox(tr("Shared experts on"))),
      topKSpin_(new QSpinBox),
      summary_(new QLabel) {
  layerCombo_->setObjectName(QStringLiteral("layerCombo"));
  sharedToggle_->setObjectName(QStringLiteral("sharedToggle"));
  topKSpin_->setObjectName(QStringLiteral("topKSpin"));
  topKSpin_->setSpecialValueText(tr("model default"));
  topKSpin_->setToolTip(tr("How many routed experts each token uses (0 = the model's own k)"));
  summary_->setWordWrap(true);
  auto* resetButton = new QPushButton(tr("Reset"));
  resetButton->setObjectName(QStringLiteral("resetButton"));

  auto* form = new QFormLayout;
  form->addRow(tr("Layer"), layerCombo_);
  form->addRow(tr("Active experts (k)"), topKSpin_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(new QLabel(tr("Click an expert to switch it off:")));
  grid_->setSpacing(2);
  layout->addLayout(grid_);
  layout->addWidget(sharedToggle_);
  layout->addWidget(resetButton);
  layout->addWidget(summary_);
  layout->addStretch();

  connect(layerCombo_, &QComboBox::currentIndexChanged, this, &ExpertMaskPanel::refresh);
  connect(sharedToggle_, &QCheckBox::toggled, this, &ExpertMaskPanel::toggleShared);
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
    button->setStyleSheet(QString::fromLatin1(buttonStyle));
    connect(button, &QPushButton::clicked, this, [this, expert] { toggleExpert(expert); });
    grid_->addWidget(button, expert / columns, expert % columns);
    expertButtons_.push_back(button);
  }
}

void ExpertMaskPanel::refresh() {
  const int layer = currentLayer();
  const bool allLayers = layer == Interventions::all_layers;
  for (int expert = 0; expert < int(expertButtons_.size()); ++expert) {
    QPushButton* button = expertButtons_[expert];
    // In a single layer, an expert switched off everywhere shows off and locked.
    const bool offEverywhere =
        interventions_.disabled_experts.count({Interventions::all_layers, expert});
    const bool off = interventions_.disabled_experts.count({layer, expert}) || offEverywhere;
    button->setChecked(off);
    button->setEnabled(allLayers || !offEverywhere);
    button->setToolTip(!allLayers && offEverywhere
                           ? tr("Expert %1 is off in all layers").arg(expert)
                       : off ? tr("Expert %1 is off: click to switch it on").arg(expert)
                             : tr("Expert %1 is on: click to switch it off").arg(expert));
  }
  {
    const QSignalBlocker blocker(sharedToggle_);
    sharedToggle_->setChecked(!interventions_.disabled_shared.count(layer));
    sharedToggle_->setVisible(config_.n_shared_experts > 0);
  }
  {
    const QSignalBlocker blocker(topKSpin_);
    topKSpin_->setValue(interventions_.top_k.value_or(0));
  }
  summary_->setText(interventions_.empty()
                        ? tr("All experts on.")
                        : tr("%n expert switch(es) off, %1 shared switch(es) off.", "",
                             int(interventions_.disabled_experts.size()))
                              .arg(interventions_.disabled_shared.size()));
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
