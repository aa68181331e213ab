#pragma once
// A multi-turn conversation with a chat model: the model folder's chat
// template renders the whole conversation each turn (add_generation_prompt),
// the rendering is tokenized as apply_chat_template(tokenize=True) does, and
// only what the backend's KV cache does not already hold runs through the
// model. The cache holds the previous turns' prompt and generated ids; when a
// new rendering shares only part of them (a reply that re-tokenizes
// differently, a template that rewrites earlier turns) the cache is rewound to
// the longest common prefix, and the turn says so: never stale keys and values.
#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "model/config.h"
#include "run/backend.h"
#include "run/generator.h"
#include "tokenizer/tokenizer.h"

namespace moescope {

struct ChatTurnResult {
  // The new prompt tokens (positions from `reused_tokens` on), then the reply.
  GenerationResult generation;
  std::string rendered;      // the whole conversation as the template wrote it
  std::string reply;         // the assistant message kept in the conversation
  int reused_tokens = 0;     // positions of the KV cache kept from earlier turns
  int discarded_tokens = 0;  // cached positions dropped: the rendering did not extend them
  bool cache_reset = false;  // nothing reused although earlier turns were cached
};

// The variables transformers passes to a chat template: bos_token and
// eos_token as the tokenizer spells them (absent when it has none).
std::map<std::string, std::string> chat_template_variables(const Tokenizer& tokenizer);

class ChatSession {
 public:
  // Reads model_dir/tokenizer_config.json's chat template. Throws EngineError
  // naming the file when it has none, or when the template is outside the
  // renderer's subset. `backend` and `tokenizer` must outlive the session, and
  // nothing else may run the backend between turns without forget_cache().
  ChatSession(Backend& backend, const Tokenizer& tokenizer, const ModelConfig& config,
              const std::filesystem::path& model_dir);

  // Adds `user_message` as the next user turn and generates the assistant's
  // reply (request.prompt is not read). A turn that stops on EOS or the token
  // limit joins the conversation; a cancelled one does not (the cache keeps
  // what ran and is reused as far as it matches). Interventions different from
  // the cached turns' reset the cache first (they change every key and value).
  // Throws EngineError for template errors (roles must alternate, ...) or a
  // conversation longer than the model's context; the conversation is unchanged then.
  ChatTurnResult send(const std::string& user_message, const GenerationRequest& request,
                      const TokenCallback& on_token = {},
                      const std::atomic<bool>* cancel = nullptr);

  // The conversation and cache start over (the cache is dropped lazily: the
  // next turn resets the backend), with `system_prompt` as a system message
  // first unless it is empty (a template that refuses a system role throws at
  // the next turn).
  void clear(const std::string& system_prompt = {});
  // Starts from a given conversation with an empty cache (for comparisons).
  void set_messages(std::vector<ChatMessage> messages);
  // Something else ran the backend: the next turn prefills from scratch.
  void forget_cache();

  const std::vector<ChatMessage>& messages() const { return messages_; }
  // The ids whose keys and values the backend holds, positions 0..n-1.
  const std::vector<int>& cached_ids() const { return cached_ids_; }
  // The same positions as the tokens they were reported as, with their text
  // and routing (prompt flags as they ran): the conversation so far, for display.
  const std::vector<GeneratedToken>& cached_tokens() const { return cached_tokens_; }
  // `messages` rendered with the generation prompt, and its ids as
  // apply_chat_template(tokenize=True) gives them (the template writes BOS).
  std::string render(const std::vector<ChatMessage>& messages) const;
  std::vector<int> tokenize(const std::string& rendered) const;

 private:
  Backend& backend_;
  const Tokenizer& tokenizer_;
  const ModelConfig& config_;
  ChatTemplate template_;
  std::map<std::string, std::string> variables_;
  std::vector<ChatMessage> messages_;
  std::vector<int> cached_ids_;
  std::vector<GeneratedToken> cached_tokens_;
  Interventions cached_interventions_;  // what the cached keys and values were computed with
};

}  // namespace moescope
