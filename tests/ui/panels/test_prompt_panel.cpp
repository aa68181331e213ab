// The prompt panel's chat mode: available only for a model with a chat
// template, "New chat" and ticking either way ask for a new conversation,
// and "Compare with experts off" (plain prompts) is off while chatting; the
// system prompt field shows in chat mode and editing it starts a new chat;
// the pace slider from Step to Live.
#include <QApplication>
#include <QCheckBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>

#include "panels/prompt_panel.h"

class TestPromptPanel : public QObject {
  Q_OBJECT

 private slots:
  // One slider: Step at the far left, 0.5 … 10 tokens/s, Live at the right.
  void paceSliderRunsFromStepToLive() {
    PromptPanel panel;
    auto* slider = panel.findChild<QSlider*>(QStringLiteral("paceSlider"));
    auto* label = panel.findChild<QLabel*>(QStringLiteral("paceLabel"));
    QVERIFY(slider && label);
    QCOMPARE(panel.pace(), PromptPanel::Pace::live);
    QSignalSpy changed(&panel, &PromptPanel::paceChanged);
    slider->setValue(0);
    QCOMPARE(panel.pace(), PromptPanel::Pace::step);
    QCOMPARE(label->text(), QStringLiteral("Step (→)"));
    slider->setValue(3);
    QCOMPARE(panel.pace(), PromptPanel::Pace::perSecond);
    QCOMPARE(panel.paceTokensPerSecond(), 1.5);
    QCOMPARE(label->text(), QStringLiteral("1.5 tokens/s"));
    slider->setValue(slider->maximum() - 1);
    QCOMPARE(panel.paceTokensPerSecond(), 10.0);
    QCOMPARE(changed.count(), 3);
    panel.setPace(PromptPanel::Pace::perSecond, 4.0);
    QCOMPARE(slider->value(), 8);
    panel.setPace(PromptPanel::Pace::live);
    QCOMPARE(label->text(), QStringLiteral("Live"));
  }

  void chatModeNeedsATemplate() {
    PromptPanel panel;
    auto* chat = panel.findChild<QCheckBox*>(QStringLiteral("chatCheck"));
    auto* newChat = panel.findChild<QPushButton*>(QStringLiteral("newChatButton"));
    auto* compare = panel.findChild<QPushButton*>(QStringLiteral("compareButton"));
    QVERIFY(chat && newChat && compare);
    panel.setState(true, false);
    QVERIFY(!chat->isEnabled());  // no template yet
    QVERIFY(!panel.chatMode());

    panel.setChatAvailable(true);
    QVERIFY(chat->isEnabled());
    QVERIFY(!newChat->isEnabled());
    QSignalSpy newChats(&panel, &PromptPanel::newChatRequested);
    chat->setChecked(true);
    QVERIFY(panel.chatMode());
    QCOMPARE(newChats.count(), 1);
    QVERIFY(newChat->isEnabled());
    QVERIFY(!compare->isEnabled());
    newChat->click();
    QCOMPARE(newChats.count(), 2);

    panel.setState(true, true);  // busy: no switching mid-run
    QVERIFY(!chat->isEnabled() && !newChat->isEnabled());
    panel.setState(true, false);

    panel.setChatAvailable(false, QStringLiteral("chat template: unknown filter 'tojson'"));
    QVERIFY(!panel.chatMode());
    QVERIFY(!chat->isEnabled());
    QCOMPARE(chat->toolTip(), QStringLiteral("chat template: unknown filter 'tojson'"));
    QVERIFY(compare->isEnabled());
  }

  void systemPromptBelongsToChatMode() {
    PromptPanel panel;
    panel.show();
    auto* chat = panel.findChild<QCheckBox*>(QStringLiteral("chatCheck"));
    auto* system = panel.findChild<QLineEdit*>(QStringLiteral("systemEdit"));
    QVERIFY(chat && system);
    panel.setState(true, false);
    panel.setChatAvailable(true);
    QVERIFY(!system->isVisible());
    chat->setChecked(true);
    QVERIFY(system->isVisible());
    QSignalSpy newChats(&panel, &PromptPanel::newChatRequested);
    QTest::keyClicks(system, QStringLiteral("Be brief."));
    QCOMPARE(panel.systemPrompt(), QStringLiteral("Be brief."));
    QVERIFY(newChats.count() >= 1);  // the conversation starts over with it
    const int before = newChats.count();
    panel.setSystemPrompt(QStringLiteral("Be brief."));  // unchanged: the chat goes on
    QCOMPARE(newChats.count(), before);
    panel.setState(true, true);
    QVERIFY(!system->isEnabled());  // not mid-run
    panel.setState(true, false);
    chat->setChecked(false);
    QVERIFY(!system->isVisible());
  }
};

QTEST_MAIN(TestPromptPanel)
#include "test_prompt_panel.moc"
