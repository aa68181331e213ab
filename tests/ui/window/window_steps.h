#pragma once
// The steps the window suites take again and again: load a model, generate a
// prompt, each waiting for the controller's answer.
#include <QSignalSpy>

#include "panels/prompt_panel.h"
#include "threads/inference_controller.h"
#include "window/main_window.h"

namespace window_steps {

constexpr int timeoutMs = 120000;

inline bool load(MainWindow& window, const QString& dir) {
  QSignalSpy loaded(window.controller(), &InferenceController::modelLoaded);
  window.openModel(dir);
  return loaded.wait(timeoutMs);
}

// Generates up to `maxTokens` from `prompt` (the prompt box as it is when empty).
inline bool generate(MainWindow& window, int maxTokens, const QString& prompt = {}) {
  if (!prompt.isEmpty()) window.promptPanel()->setPrompt(prompt);
  auto sampling = window.promptPanel()->samplingSettings();
  sampling.max_tokens = maxTokens;
  window.promptPanel()->setSamplingSettings(sampling);
  QSignalSpy finished(window.controller(), &InferenceController::runFinished);
  window.generate();
  return finished.wait(timeoutMs);
}

}  // namespace window_steps
