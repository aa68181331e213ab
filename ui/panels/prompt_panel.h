#pragma once
// The prompt and the sampling settings, with Generate / Stop and the
// "Compare with experts off" button. Emits requests; the window runs them.
#include <QWidget>

#include "run/sampling.h"

class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSlider;
class QSpinBox;

class PromptPanel : public QWidget {
  Q_OBJECT

 public:
  explicit PromptPanel(QWidget* parent = nullptr);

  QString prompt() const;
  void setPrompt(const QString& text);
  moescope::SamplingSettings samplingSettings() const;
  void setSamplingSettings(const moescope::SamplingSettings& settings);
  // Busy: Stop is the only live button. Ready: a model is loaded to run.
  void setState(bool ready, bool busy);
  // Max tokens reaches at most the model's context (prompt included).
  void setContextLength(int tokens);
  // The banner beside Generate: the switches Generate will use, and a note when
  // the text on screen was made with other switches (empty: no note).
  void setSwitchBanner(const QString& switches, const QString& note);

  // How fast generated tokens appear: live, `tokensPerSecond`, or one per →.
  enum class Pace { live, perSecond, step };
  Pace pace() const;
  double paceTokensPerSecond() const;  // 0.5 … 10 in perSecond, else 0
  void setPace(Pace pace, double tokensPerSecond = 2.0);
  // Chat mode: each Generate sends the prompt box as the next user turn of one
  // conversation in the model's chat template. Only for a model with a template
  // (`why` says otherwise, in the tooltip); unavailable unticks it.
  bool chatMode() const;
  void setChatAvailable(bool available, const QString& why = {});
  // Chat mode's system message (empty: none); editing it starts a new chat.
  QString systemPrompt() const;
  void setSystemPrompt(const QString& text);

 signals:
  void generateRequested();
  void compareRequested();
  void stopRequested();
  // "New chat", or chat mode switched on or off: the next turn starts over.
  void newChatRequested();
  void paceChanged();

 private:
  QPlainTextEdit* promptEdit_;
  QLineEdit* systemEdit_;
  QPushButton* generateButton_;
  QPushButton* compareButton_;
  QPushButton* stopButton_;
  QCheckBox* chatCheck_;
  QPushButton* newChatButton_;
  bool ready_ = false, busy_ = false, chatAvailable_ = false;
  QDoubleSpinBox* temperatureSpin_;
  QDoubleSpinBox* topPSpin_;
  QSpinBox* seedSpin_;
  QSpinBox* maxTokensSpin_;
  static constexpr int paceLive = 21;  // the slider's right end; 1..20 are 0.5..10 tokens/s
  QSlider* paceSlider_;
  QLabel* paceLabel_;
  QLabel* switchBanner_;
  QLabel* switchNote_;
};
