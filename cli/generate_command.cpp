#include <CLI/CLI.hpp>
#include <climits>
#include <iostream>
#include <memory>

#include "chat/chat_session.h"
#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/routing_summary.h"
#include "cli/server_generate.h"
#include "io/run_snapshot.h"
#include "run/generator.h"
#include "tokenizer/tokenizer.h"

namespace moescope::cli {
namespace {

struct GenerateOptions {
  ModelOptions model;
  std::string prompt;
  SamplingSettings sampling;
  int top_k_experts = 0;
  std::string disable;
  std::string disable_shared;
  bool select_without_bias = false;
  bool no_group_limit = false;
  std::string json_path;
  bool summary = true;
  bool chat = false;
  std::string system_prompt;
  ServerOptions server;
};

void run_generate(const GenerateOptions& options) {
  if (!options.server.url.empty())
    return run_server_generate(options.server, options.model.model_dir, options.prompt,
                               options.sampling, options.json_path, options.summary);
  const auto model = load_model(options.model);
  const auto tokenizer = load_tokenizer(model_path(options.model));
  BackendSelection selection = load_backend(*model, options.model);

  GenerationRequest request;
  request.prompt = options.prompt;
  request.sampling = options.sampling;
  if (options.top_k_experts > 0) request.interventions.top_k = options.top_k_experts;
  if (!options.disable.empty()) parse_disabled_experts(options.disable, request.interventions);
  if (!options.disable_shared.empty())
    parse_disabled_shared(options.disable_shared, request.interventions);
  request.interventions.select_without_bias = options.select_without_bias;
  request.interventions.no_group_limit = options.no_group_limit;
  request.interventions.validate(model->config());  // before any output

  const auto print_generated = [](const GeneratedToken& token) {
    if (!token.routing.is_prompt) std::cout << token.text << std::flush;
  };
  GenerationResult result;
  if (options.chat) {
    // The prompt as one user turn in the model's own template; the snapshot
    // and the summary then show the rendered conversation that ran.
    ChatSession chat(*selection.backend, *tokenizer, model->config(), model_path(options.model));
    chat.clear(options.system_prompt);
    std::vector<ChatMessage> conversation = chat.messages();
    conversation.push_back({"user", options.prompt});
    request.prompt = chat.render(conversation);
    std::cout << valid_utf8(request.prompt) << std::flush;
    result = chat.send(options.prompt, request, print_generated).generation;
  } else {
    std::cout << valid_utf8(options.prompt) << std::flush;
    Generator generator(*selection.backend, *tokenizer, model->config());
    result = generator.generate(request, print_generated);
  }
  std::cout << "\n";
  std::cerr << "[" << result.prompt_tokens << " prompt tokens in " << result.prefill_seconds
            << " s; " << result.generated_tokens << " generated in " << result.decode_seconds
            << " s = "
            << (result.decode_seconds > 0 ? result.generated_tokens / result.decode_seconds : 0.0)
            << " tokens/s; stopped: " << stop_reason_name(result.stop) << "]\n";
  if (options.summary) print_routing_summary(std::cout, model->config(), request, result);
  if (!options.json_path.empty()) {
    write_snapshot(make_run_snapshot(*model, selection.backend->name(), request, result),
                   options.json_path);
    std::cerr << "routing snapshot written to " << options.json_path << "\n";
  }
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* c = app.add_subcommand("generate", "Generate text and show which experts were used");
  add_model_options(*c, o->model);
  c->add_option("--prompt", o->prompt, "Text to continue (with --chat: the user's message)")
      ->required();
  c->add_flag("--chat", o->chat,
              "Apply the model's chat template (tokenizer_config.json): the prompt is one user "
              "turn and the model writes the assistant's reply");
  add_system_prompt_option(*c, o->system_prompt)->needs("--chat");
  add_sampling_options(*c, o->sampling, "Tokens to generate");
  c->add_option("--top-k-experts", o->top_k_experts, "Override the number of active routed experts")
      ->check(whole_number_in(1, INT_MAX));
  c->add_option("--disable", o->disable, "Switch routed experts off: L:E,... (L a layer or 'all')");
  c->add_option("--disable-shared", o->disable_shared, "Switch shared experts off: L,... or 'all'");
  c->add_flag("--select-without-bias", o->select_without_bias,
              "DeepSeek-V3: select experts by the raw scores, without e_score_correction_bias "
              "(gate weights unchanged)");
  c->add_flag("--no-group-limit", o->no_group_limit,
              "Group routing (DeepSeek-V2/V3): let every token reach every group of experts");
  c->add_option("--json", o->json_path, "Write a routing snapshot (docs/snapshot-format.md)");
  c->add_flag("!--no-summary", o->summary, "Do not print the routing summary");
  add_server_options(*c, o->server);
  c->callback([o] { run_generate(*o); });
}

}  // namespace moescope::cli
