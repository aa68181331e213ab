#include "chat/chat_session.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace moescope {
namespace {

ChatTemplate load_template(const std::filesystem::path& model_dir) {
  std::optional<std::string> source = read_chat_template(model_dir);
  if (!source)
    throw EngineError((model_dir / "tokenizer_config.json").string() +
                      ": has no chat_template (not a chat model; use a plain prompt)");
  return ChatTemplate(*source);
}

// The reply as the conversation keeps it: without the whitespace the model
// put before it, since templates write their own separator ("Assistant: ").
std::string reply_text(const std::string& generated) {
  std::size_t start = 0;
  while (start < generated.size() && std::isspace(static_cast<unsigned char>(generated[start])))
    ++start;
  return generated.substr(start);
}

}  // namespace

std::map<std::string, std::string> chat_template_variables(const Tokenizer& tokenizer) {
  std::map<std::string, std::string> variables;
  if (const auto bos = tokenizer.bos_id()) variables["bos_token"] = tokenizer.piece(*bos);
  if (const auto eos = tokenizer.eos_id()) variables["eos_token"] = tokenizer.piece(*eos);
  return variables;
}

ChatSession::ChatSession(Backend& backend, const Tokenizer& tokenizer, const ModelConfig& config,
                         const std::filesystem::path& model_dir)
    : backend_(backend),
      tokenizer_(tokenizer),
      config_(config),
      template_(load_template(model_dir)),
      variables_(chat_template_variables(tokenizer)) {}

std::string ChatSession::render(const std::vector<ChatMessage>& messages) const {
  return template_.render(messages, /*add_generation_prompt=*/true, variables_);
}

std::vector<int> ChatSession::tokenize(const std::string& rendered) const {
  return tokenizer_.encode_without_special(rendered);
}

void ChatSession::clear(const std::string& system_prompt) {
  messages_.clear();
  if (!system_prompt.empty()) messages_.push_back({"system", system_prompt});
  forget_cache();
}

void ChatSession::set_messages(std::vector<ChatMessage> messages) {
  messages_ = std::move(messages);
  forget_cache();
}

void ChatSession::forget_cache() {
  cached_ids_.clear();
  cached_tokens_.clear();
}

ChatTurnResult ChatSession::send(const std::string& user_message, const GenerationRequest& request,
                                 const TokenCallback& on_token, const std::atomic<bool>* cancel) {
  request.interventions.validate(config_);
  std::vector<ChatMessage> messages = messages_;
  messages.push_back({"user", user_message});

  ChatTurnResult turn;
  turn.rendered = render(messages);
  const std::vector<int> ids = tokenize(turn.rendered);
  if (ids.empty()) throw EngineError("the chat template rendered an empty conversation");

  const int had_cached = int(cached_ids_.size());
  if (request.interventions != cached_interventions_) forget_cache();
  // The longest prefix the cache shares with the new ids; at least the last
  // id runs again, for the logits of the first reply token.
  const auto [cached_end, ids_end] =
      std::mismatch(cached_ids_.begin(), cached_ids_.end(), ids.begin(), ids.end() - 1);
  const int reused = int(cached_end - cached_ids_.begin());
  turn.reused_tokens = reused;
  turn.discarded_tokens = had_cached - reused;
  turn.cache_reset = reused == 0 && had_cached > 0;

  // From here on the backend only holds what ran: the reused prefix, then
  // every token fed or generated (also when a token throws or is cancelled).
  const std::vector<int> context(ids.begin(), ids.begin() + reused);
  cached_ids_ = context;
  cached_tokens_.resize(reused);
  cached_interventions_ = request.interventions;
  Generator generator(backend_, tokenizer_, config_);
  turn.generation = generator.continue_from(
      context, std::span<const int>(ids).subspan(reused), request,
      [&](const GeneratedToken& token) {
        cached_ids_.push_back(token.routing.token_id);
        cached_tokens_.push_back(token);
        if (on_token) on_token(token);
      },
      cancel);

  turn.reply = reply_text(turn.generation.generated_text);
  if (turn.generation.stop != StopReason::cancelled) {
    messages.push_back({"assistant", turn.reply});
    messages_ = std::move(messages);
  }
  return turn;
}

}  // namespace moescope
