// Clicks on the expert switches turn into the right Interventions.
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTest>

#include "model/config.h"
#include "panels/expert_mask_panel.h"
#include "panels/switch_summary.h"

namespace {

// The mean colour of a widget as drawn.
QColor meanColour(QWidget* widget) {
  const QImage image = widget->grab().toImage();
  double r = 0, g = 0, b = 0;
  const int w = image.width(), h = image.height();
  for (int y = h / 4; y < 3 * h / 4; ++y)
    for (int x = w / 4; x < 3 * w / 4; ++x) {
      const QColor c = image.pixelColor(x, y);
      r += c.redF(), g += c.greenF(), b += c.blueF();
    }
  const double n = (w / 2) * (h / 2);
  return QColor::fromRgbF(float(r / n), float(g / n), float(b / n));
}

}  // namespace

using moescope::Interventions;

class TestExpertMaskPanel : public QObject {
  Q_OBJECT

 private slots:
  void init() {
    moescope::ModelConfig config;
    config.num_hidden_layers = 3;
    config.first_k_dense_replace = 1;  // layer 0 dense, layers 1 and 2 MoE
    config.n_routed_experts = 16;
    config.n_shared_experts = 2;
    config.num_experts_per_tok = 4;
    panel_ = std::make_unique<ExpertMaskPanel>();
    panel_->setModelConfig(config);
    panel_->show();
    QVERIFY(QTest::qWaitForWindowExposed(panel_.get()));
  }
  void cleanup() { panel_.reset(); }

  void listsAllLayersThenMoeLayers() {
    auto* combo = find<QComboBox>("layerCombo");
    QCOMPARE(combo->count(), 3);
    QCOMPARE(combo->itemData(0).toInt(), Interventions::all_layers);
    QCOMPARE(combo->itemData(1).toInt(), 1);
    QCOMPARE(combo->itemData(2).toInt(), 2);
    QVERIFY(panel_->interventions().empty());
  }

  void clickInAllLayersDisablesEverywhere() {
    QSignalSpy changed(panel_.get(), &ExpertMaskPanel::interventionsChanged);
    click("expert5");
    QCOMPARE(changed.count(), 1);
    QCOMPARE(panel_->interventions().disabled_experts,
             (std::set<std::pair<int, int>>{{Interventions::all_layers, 5}}));
    QVERIFY(find<QPushButton>("expert5")->isChecked());
    click("expert5");  // and back on
    QVERIFY(panel_->interventions().empty());
    QVERIFY(!find<QPushButton>("expert5")->isChecked());
  }

  void clickInOneLayerDisablesThatLayer() {
    find<QComboBox>("layerCombo")->setCurrentIndex(2);  // layer 2
    click("expert3");
    click("expert15");
    QCOMPARE(panel_->interventions().disabled_experts,
             (std::set<std::pair<int, int>>{{2, 3}, {2, 15}}));
    find<QComboBox>("layerCombo")->setCurrentIndex(1);  // layer 1 shows its own state
    QVERIFY(!find<QPushButton>("expert3")->isChecked());
  }

  void expertOffEverywhereIsLockedInOneLayer() {
    click("expert7");
    find<QComboBox>("layerCombo")->setCurrentIndex(1);
    auto* button = find<QPushButton>("expert7");
    QVERIFY(button->isChecked());
    QVERIFY(!button->isEnabled());
  }

  // Off is a strong colour, not the grey of a disabled button (dark themes especially).
  void offLooksUnlikeDisabled() {
    click("expert4");
    const QColor off = meanColour(find<QPushButton>("expert4"));
    auto* disabled = find<QPushButton>("expert5");
    disabled->setEnabled(false);
    const QColor grey = meanColour(disabled);
    QVERIFY2(off.saturationF() > 0.5 && off.red() > 2 * off.green(), qPrintable(off.name()));
    QVERIFY2(grey.saturationF() < 0.2, qPrintable(grey.name()));
  }

  // All layers shows an expert switched off in some layers only, with their count.
  void allLayersShowsPerLayerSwitches() {
    find<QComboBox>("layerCombo")->setCurrentIndex(2);  // layer 2
    click("expert3");
    find<QComboBox>("layerCombo")->setCurrentIndex(1);  // layer 1
    click("expert3");
    click("expert6");
    find<QComboBox>("layerCombo")->setCurrentIndex(0);  // All layers
    auto* three = find<QPushButton>("expert3");
    QCOMPARE(three->property("switchState").toString(), QStringLiteral("partial"));
    QCOMPARE(three->text(), QStringLiteral("3 (2)"));
    QCOMPARE(find<QPushButton>("expert6")->text(), QStringLiteral("6 (1)"));
    QCOMPARE(find<QPushButton>("expert7")->property("switchState").toString(),
             QStringLiteral("on"));
    QVERIFY(meanColour(three) != meanColour(find<QPushButton>("expert7")));
    QCOMPARE(find<QLabel>("switchSummary")->text(), QStringLiteral("3 experts off in 2 layers"));
  }

  void summaryNamesEveryKindOfSwitch_data() {
    QTest::addColumn<QString>("disable");
    QTest::addColumn<QString>("shared");
    QTest::addColumn<int>("k");
    QTest::addColumn<QString>("expected");
    QTest::newRow("none") << ""
                          << "" << 0 << "All experts on.";
    QTest::newRow("per layer") << "1:3,2:3,2:4"
                               << "" << 0 << "3 experts off in 2 layers";
    QTest::newRow("one everywhere") << "all:5"
                                    << "" << 0 << "expert 5 off in every layer";
    QTest::newRow("shared") << "1:2"
                            << "2" << 0 << "1 expert off in 1 layer · shared off in layer 2";
    QTest::newRow("all shared, k") << ""
                                   << "all" << 2 << "shared off in every layer · k = 2";
  }
  void summaryNamesEveryKindOfSwitch() {
    QFETCH(QString, disable);
    QFETCH(QString, shared);
    QFETCH(int, k);
    QFETCH(QString, expected);
    Interventions i;
    if (!disable.isEmpty()) moescope::parse_disabled_experts(disable.toStdString(), i);
    if (!shared.isEmpty()) moescope::parse_disabled_shared(shared.toStdString(), i);
    if (k) i.top_k = k;
    QCOMPARE(SwitchSummary::describe(i), expected);
  }

  void sharedToggleAndTopK() {
    find<QComboBox>("layerCombo")->setCurrentIndex(1);
    auto* shared = find<QCheckBox>("sharedToggle");
    QVERIFY(shared->isChecked());
    QTest::mouseClick(shared, Qt::LeftButton, {}, QPoint(8, shared->height() / 2));
    QCOMPARE(panel_->interventions().disabled_shared, std::set<int>{1});

    auto* k = find<QSpinBox>("topKSpin");
    QCOMPARE(k->value(), 0);
    k->setValue(2);
    QCOMPARE(panel_->interventions().top_k, std::optional<int>(2));
    k->setValue(0);  // back to the model's default
    QVERIFY(!panel_->interventions().top_k);
  }

  void gateSwitchesOnlyWhereTheGateHasThem() {
    // The fixture's gate (softmax, no groups): neither switch is offered.
    QVERIFY(find<QCheckBox>("biasToggle")->isHidden());
    QVERIFY(find<QCheckBox>("groupToggle")->isHidden());

    moescope::ModelConfig v3;
    v3.num_hidden_layers = 2;
    v3.first_k_dense_replace = 1;
    v3.n_routed_experts = 16;
    v3.num_experts_per_tok = 4;
    v3.score_correction_bias = true;
    v3.topk_method = moescope::TopkMethod::noaux_tc;
    v3.n_group = 4;
    v3.topk_group = 2;
    panel_->setModelConfig(v3);
    auto* bias = find<QCheckBox>("biasToggle");
    auto* groups = find<QCheckBox>("groupToggle");
    QVERIFY(!bias->isHidden() && bias->isChecked());
    QVERIFY(!groups->isHidden() && groups->isChecked());
    QSignalSpy changed(panel_.get(), &ExpertMaskPanel::interventionsChanged);
    QTest::mouseClick(bias, Qt::LeftButton, {}, QPoint(8, bias->height() / 2));
    QVERIFY(panel_->interventions().select_without_bias);
    QTest::mouseClick(groups, Qt::LeftButton, {}, QPoint(8, groups->height() / 2));
    QVERIFY(panel_->interventions().no_group_limit);
    QCOMPARE(changed.count(), 2);
    QCOMPARE(find<QLabel>("switchSummary")->text(),
             QStringLiteral("selecting without the bias · no group limit"));
    click("resetButton");
    QVERIFY(bias->isChecked() && groups->isChecked());
    QVERIFY(panel_->interventions().empty());
  }

  void resetClearsEverything() {
    click("expert1");
    find<QSpinBox>("topKSpin")->setValue(3);
    QSignalSpy changed(panel_.get(), &ExpertMaskPanel::interventionsChanged);
    click("resetButton");
    QCOMPARE(changed.count(), 1);
    QVERIFY(panel_->interventions().empty());
    QVERIFY(!find<QPushButton>("expert1")->isChecked());
    QCOMPARE(find<QSpinBox>("topKSpin")->value(), 0);
  }

  void setInterventionsShowsThem() {
    Interventions interventions;
    interventions.disabled_experts = {{Interventions::all_layers, 9}};
    interventions.top_k = 1;
    panel_->setInterventions(interventions);
    QVERIFY(find<QPushButton>("expert9")->isChecked());
    QCOMPARE(find<QSpinBox>("topKSpin")->value(), 1);
    QCOMPARE(panel_->interventions().disabled_experts, interventions.disabled_experts);
  }

 private:
  template <typename W>
  W* find(const char* name) const {
    auto* widget = panel_->findChild<W*>(QString::fromLatin1(name));
    if (!widget) qFatal("no widget %s", name);
    return widget;
  }
  void click(const char* name) { QTest::mouseClick(find<QPushButton>(name), Qt::LeftButton); }

  std::unique_ptr<ExpertMaskPanel> panel_;
};

QTEST_MAIN(TestExpertMaskPanel)
#include "test_expert_mask_panel.moc"
