#pragma once
// Text <-> token ids: byte-level BPE from a Hugging Face `tokenizer.json`
// (bpe_tokenizer.h) or SentencePiece (`tokenizer.model`), behind one interface.
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Adds the BOS token first when the model's tokenizer_config asks for it.
  virtual std::vector<int> encode(std::string_view text) const = 0;
  // As transformers' tokenizer(text, add_special_tokens=False), which
  // apply_chat_template(tokenize=True) uses: no BOS/EOS added around the text,
  // while special tokens written in it (a template's "<s>", "</s>",
  // "<|im_start|>") still become their ids.
  virtual std::vector<int> encode_without_special(std::string_view text) const = 0;
  virtual std::string decode(std::span<const int> ids) const = 0;
  virtual std::string piece(int id) const = 0;  // the vocabulary entry, for display
  virtual int vocab_size() const = 0;
  virtual std::optional<int> bos_id() const = 0;
  virtual std::optional<int> eos_id() const = 0;
};

// Loads the tokenizer of a model directory: tokenizer.json when present, else
// tokenizer.model. For a .gguf file: those files in its folder when present, else
// the GGUF's own tokenizer.ggml.* metadata (gguf_tokenizer.h). Throws EngineError naming the file
// when it is missing or broken.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir);
// A SentencePiece tokenizer from a serialized ModelProto (tokenizer/sentencepiece_proto.h);
// throws EngineError naming `source` when the library refuses it.
std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(const std::string& serialized_proto,
                                                        bool add_bos, const std::string& source);

// `text` with each ill-formed UTF-8 sequence replaced by U+FFFD: what may go to a
// terminal or a widget, whatever bytes a tokenizer or a user produced.
std::string valid_utf8(std::string_view text);

// Turns a growing id sequence into text a screen can show: each push returns
// only the new, complete UTF-8 characters, holding back the bytes of a
// character split across tokens. Everything it returns is valid UTF-8.
class TextStream {
 public:
  explicit TextStream(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  // Reads on from `context` (ids already shown): the first push returns only
  // what its token adds to them, as in decode(context + ids).
  TextStream(const Tokenizer& tokenizer, std::span<const int> context);
  std::string push(int id);
  std::string flush();  // whatever is still held, at the end of a run

 private:
  const Tokenizer& tokenizer_;
  std::vector<int> ids_;
  std::size_t emitted_ = 0;  // bytes of decode(ids_) already returned
};

}  // namespace moescope
