#pragma once
// A chat template from tokenizer_config.json rendered as transformers'
// apply_chat_template does (Jinja with trim_blocks and lstrip_blocks), for the
// subset of Jinja the supported families' templates use:
//   {{ expr }}, {% if/elif/else/endif %}, {% for x in expr %}...{% endfor %}
//   (loop.index, index0, first, last, length), {% set name = expr %}, {# #},
//   whitespace control with '-', string/int/bool/none literals, lists,
//   message['role'] / message.role, list[index], + - * % ~, == != < > <= >=,
//   in / not in, and / or / not, `is [not] defined / none / string`,
//   filters trim, length, lower, upper, and raise_exception(message).
// Anything else is rejected when the template is parsed, naming what it met.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace moescope {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

class ChatTemplate {
 public:
  // Throws EngineError("chat template: ...") for syntax outside the subset.
  explicit ChatTemplate(const std::string& source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // `variables`: bos_token, eos_token and the like (absent ones are undefined).
  // Throws EngineError for raise_exception() or a type error while rendering.
  std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                     const std::map<std::string, std::string>& variables = {}) const;

  struct Node;

 private:
  std::vector<std::unique_ptr<Node>> body_;
};

// model_dir/tokenizer_config.json's "chat_template" (a string, or the template
// named "default" in a list of {name, template}); nullopt when there is none. For a
// .gguf file: the tokenizer_config.json beside it, else its tokenizer.chat_template.
std::optional<std::string> read_chat_template(const std::filesystem::path& model_dir);

}  // namespace moescope
