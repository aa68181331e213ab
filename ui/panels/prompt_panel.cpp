#include "panels/prompt_panel.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

PromptPanel::PromptPanel(QWidget* parent)
    : QWidget(parent),
      promptEdit_(new QPlainTextEdit),
      systemEdit_(new QLineEdit),
      generateButton_(new QPushButton(tr("Generate"))),
      compareButton_(new QPushButton(tr("Compare with experts off"))),
      stopButton_(new QPushButton(tr("Stop"))),
      chatCheck_(new QCheckBox(tr("Chat"))),
      newChatButton_(new QPushButton(tr("New chat"))),
      temperatureSpin_(new QDoubleSpinBox),
      topPSpin_(new QDoubleSpinBox),
      seedSpin_(new QSpinBox),
      maxTokensSpin_(new QSpinBox),
      paceSlider_(new QSlider(Qt::Horizontal)),
      paceLabel_(new QLabel),
      switchBanner_(new QLabel),
      switchNote_(new QLabel) {
  promptEdit_->setObjectName(QStringLiteral("promptEdit"));
  promptEdit_->setPlaceholderText(tr("Type a prompt, then press Ctrl+Enter"));
  promptEdit_->setTabChangesFocus(true);
  promptEdit_->setMinimumHeight(promptEdit_->fontMetrics().lineSpacing() * 3);
  systemEdit_->setObjectName(QStringLiteral("systemEdit"));
  systemEdit_->setPlaceholderText(tr("System prompt (optional)"));
  systemEdit_->setToolTip(
      tr("A system message that opens the conversation, for templates with a system role. "
         "Changing it starts a new chat."));
  systemEdit_->setClearButtonEnabled(true);
  systemEdit_->setVisible(false);
  generateButton_->setObjectName(QStringLiteral("generateButton"));
  generateButton_->setToolTip(tr("Generate (Ctrl+Enter)"));
  generateButton_->setDefault(true);
  compareButton_->setObjectName(QStringLiteral("compareButton"));
  compareButton_->setToolTip(
      tr("Runs the prompt twice with the same seed: all experts on, then with the expert "
         "switches of the Expert switches panel, and shows both side by side"));
  stopButton_->setObjectName(QStringLiteral("stopButton"));
  stopButton_->setToolTip(tr("Stop (Esc)"));

  chatCheck_->setObjectName(QStringLiteral("chatCheck"));
  newChatButton_->setObjectName(QStringLiteral("newChatButton"));
  newChatButton_->setToolTip(tr("Forget the conversation; the next message starts a new one"));
  setChatAvailable(false);

  temperatureSpin_->setRange(0.0, 2.0);
  temperatureSpin_->setSingleStep(0.1);
  temperatureSpin_->setToolTip(tr("0 always picks the most likely token"));
  topPSpin_->setRange(0.05, 1.0);
  topPSpin_->setSingleStep(0.05);
  seedSpin_->setRange(0, 1'000'000);
  maxTokensSpin_->setRange(1, 1 << 20);  // until a model says its context
  setSamplingSettings({.temperature = 0.7f, .top_p = 0.95f, .seed = 1, .max_tokens = 64});

  // One slider from Step (left) through 0.5 … 10 tokens/s to Live (right).
  paceSlider_->setObjectName(QStringLiteral("paceSlider"));
  paceSlider_->setRange(0, paceLive);
  paceSlider_->setValue(paceLive);
  paceSlider_->setPageStep(2);
  paceSlider_->setMinimumWidth(50);
  paceSlider_->setToolTip(
      tr("How fast generated tokens appear, so a class can watch routing arrive: Live, a "
         "number of tokens per second, or (far left) Step: one token per press of → in the "
         "text (Esc shows the rest)."));
  paceLabel_->setObjectName(QStringLiteral("paceLabel"));
  paceLabel_->setMinimumWidth(paceLabel_->fontMetrics().horizontalAdvance(tr("10 tokens/s")));
  connect(paceSlider_, &QSlider::valueChanged, this, [this] {
    paceLabel_->setText(pace() == Pace::step   ? tr("Step (→)")
                        : pace() == Pace::live ? tr("Live")
                                               : tr("%1 tokens/s").arg(paceTokensPerSecond()));
    emit paceChanged();
  });
  paceLabel_->setText(tr("Live"));

  switchBanner_->setObjectName(QStringLiteral("switchBanner"));
  switchBanner_->setWordWrap(true);
  switchNote_->setObjectName(QStringLiteral("switchNote"));
  switchNote_->setWordWrap(true);
  switchNote_->setStyleSheet(QStringLiteral("color: #c62828; font-weight: bold;"));
  switchNote_->hide();
  setSwitchBanner(tr("All experts on."), {});

  auto* settings = new QFormLayout;
  settings->addRow(tr("Temperature"), temperatureSpin_);
  settings->addRow(tr("Top-p"), topPSpin_);
  settings->addRow(tr("Seed"), seedSpin_);
  settings->addRow(tr("Max tokens"), maxTokensSpin_);
  auto* pace = new QHBoxLayout;
  pace->addWidget(paceSlider_, 1);
  pace->addWidget(paceLabel_);
  settings->addRow(tr("Pace"), pace);

  auto* buttons = new QVBoxLayout;
  buttons->addWidget(generateButton_);
  buttons->addWidget(stopButton_);
  buttons->addWidget(compareButton_);
  buttons->addWidget(chatCheck_);
  buttons->addWidget(newChatButton_);
  buttons->addStretch();

  auto* texts = new QVBoxLayout;
  texts->addWidget(systemEdit_);
  texts->addWidget(promptEdit_, 1);

  auto* row = new QHBoxLayout;
  row->addLayout(texts, 1);
  row->addLayout(settings);
  row->addLayout(buttons);
  // The banner spans the panel under Generate, readable at any width.
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(row, 1);
  layout->addWidget(switchBanner_);
  layout->addWidget(switchNote_);

  connect(generateButton_, &QPushButton::clicked, this, &PromptPanel::generateRequested);
  connect(compareButton_, &QPushButton::clicked, this, &PromptPanel::compareRequested);
  connect(stopButton_, &QPushButton::clicked, this, &PromptPanel::stopRequested);
  connect(newChatButton_, &QPushButton::clicked, this, &PromptPanel::newChatRequested);
  connect(systemEdit_, &QLineEdit::textEdited, this, &PromptPanel::newChatRequested);
  connect(chatCheck_, &QCheckBox::toggled, this, [this](bool chat) {
    promptEdit_->setPlaceholderText(chat ? tr("Type a message, then press Ctrl+Enter")
                                         : tr("Type a prompt, then press Ctrl+Enter"));
    systemEdit_->setVisible(chat);
    setState(ready_, busy_);
    emit newChatRequested();
  });
  setState(false, false);
}

QString PromptPanel::prompt() const {
  return promptEdit_->toPlainText();
}

void PromptPanel::setPrompt(const QString& text) {
  promptEdit_->setPlainText(text);
}

moescope::SamplingSettings PromptPanel::samplingSettings() const {
  return {.temperature = float(temperatureSpin_->value()),
          .top_p = float(topPSpin_->value()),
          .seed = std::uint64_t(seedSpin_->value()),
          .max_tokens = maxTokensSpin_->value()};
}

void PromptPanel::setSamplingSettings(const moescope::SamplingSettings& settings) {
  temperatureSpin_->setValue(settings.temperature);
  topPSpin_->setValue(settings.top_p);
  seedSpin_->setValue(int(settings.seed));
  maxTokensSpin_->setValue(settings.max_tokens);
}

void PromptPanel::setState(bool ready, bool busy) {
  ready_ = ready;
  busy_ = busy;
  generateButton_->setEnabled(ready && !busy);
  compareButton_->setEnabled(ready && !busy && !chatMode());  // compares plain prompts
  stopButton_->setEnabled(busy);
  chatCheck_->setEnabled(ready && !busy && chatAvailable_);
  newChatButton_->setEnabled(ready && !busy && chatMode());
  systemEdit_->setEnabled(!busy);
}

void PromptPanel::setContextLength(int tokens) {
  maxTokensSpin_->setMaximum(std::max(1, tokens));
  maxTokensSpin_->setToolTip(
      tr("Tokens to generate; at most the model's context of %1 tokens, prompt included "
         "(a run stops when the context is full)")
          .arg(tokens));
}

void PromptPanel::setSwitchBanner(const QString& switches, const QString& note) {
  switchBanner_->setText(tr("Switches for Generate: %1").arg(switches));
  switchNote_->setText(note);
  switchNote_->setVisible(!note.isEmpty());
}

PromptPanel::Pace PromptPanel::pace() const {
  const int value = paceSlider_->value();
  return value == 0 ? Pace::step : value == paceLive ? Pace::live : Pace::perSecond;
}

double PromptPanel::paceTokensPerSecond() const {
  return pace() == Pace::perSecond ? paceSlider_->value() * 0.5 : 0.0;
}

void PromptPanel::setPace(Pace pace, double tokensPerSecond) {
  paceSlider_->setValue(pace == Pace::step ? 0
                        : pace == Pace::live
                            ? paceLive
                            : std::clamp(int(std::lround(tokensPerSecond * 2)), 1, paceLive - 1));
}

bool PromptPanel::chatMode() const {
  return chatCheck_->isChecked();
}

QString PromptPanel::systemPrompt() const {
  return systemEdit_->text();
}

void PromptPanel::setSystemPrompt(const QString& text) {
  if (text == systemEdit_->text()) return;
  systemEdit_->setText(text);
  emit newChatRequested();
}

void PromptPanel::setChatAvailable(bool available, const QString& why) {
  chatAvailable_ = available;
  if (!available) chatCheck_->setChecked(false);
  chatCheck_->setToolTip(
      available ? tr("Each Generate sends the prompt as the next user message, in the model's "
                     "chat template; earlier turns stay in the KV cache. Sampling settings may "
                     "change between turns; other expert switches recompute the conversation.")
      : why.isEmpty() ? tr("This model has no chat template (tokenizer_config.json)")
                      : why);
  setState(ready_, busy_);
}
