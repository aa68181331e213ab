#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "chat/chat_session.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "tokenizer/tokenizer.h"

namespace moescope::cli {
namespace {

struct ChatOptions {
  ModelOptions model;
  SamplingSettings sampling;
  std::string system_prompt;
};

int chat_turns(const std::vector<ChatMessage>& messages) {
  return int(std::count_if(messages.begin(), messages.end(),
                           [](const ChatMessage& m) { return m.role == "user"; }));
}

// One user message per line of stdin, the reply printed after each; the KV
// cache carries over, so each turn runs only what its rendering adds.
void run_chat(const ChatOptions& options) {
  const auto model = load_model(options.model);
  const auto tokenizer = load_tokenizer(model_path(options.model));
  BackendSelection selection = load_backend(*model, options.model);
  ChatSession chat(*selection.backend, *tokenizer, model->config(), model_path(options.model));
  chat.clear(options.system_prompt);
  GenerationRequest request;
  request.sampling = options.sampling;
  request.capture_routing = false;

  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const ChatTurnResult turn = chat.send(line, request, [](const GeneratedToken& token) {
      if (!token.routing.is_prompt) std::cout << token.text << std::flush;
    });
    std::cout << "\n" << std::flush;
    const GenerationResult& r = turn.generation;
    std::cerr << "[turn " << chat_turns(chat.messages()) << ": " << r.prompt_tokens
              << " prompt tokens run, " << turn.reused_tokens << " reused from the KV cache";
    if (turn.discarded_tokens > 0)
      std::cerr << ", " << turn.discarded_tokens << " cached tokens dropped (the rendering "
                << "differs from them)";
    std::cerr << "; " << r.generated_tokens << " generated; stopped: " << stop_reason_name(r.stop)
              << "]\n";
  }
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* c = app.add_subcommand(
      "chat", "Chat with the model's template: one user message per line of stdin");
  add_model_options(*c, o->model);
  add_system_prompt_option(*c, o->system_prompt);
  add_sampling_options(*c, o->sampling, "Tokens to generate per reply");
  c->callback([o] { run_chat(*o); });
}

}  // namespace moescope::cli
