// The prompt panel's chat mode: available only for a model with a chat
// template, "New chat" and ticking either way ask for a new conversation,
// and "Compare with experts off" (plain prompts) is off while chatting.
#include <QApplication>
#include <QCheckBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

#include "prompt_panel.h"

class TestPromptPanel : public QObject {
  Q_OBJECT

 private slots:
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
};

QTEST_MAIN(TestPromptPanel)
#include "test_prompt_panel.moc"
