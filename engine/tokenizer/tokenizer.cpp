#include "tokenizer/tokenizer.h"

#include <sentencepiece_processor.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "core/path_status.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/gguf_tokenizer.h"

namespace moescope {
namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::filesystem::path& model_file, bool add_bos)
      : add_bos_(add_bos) {
    const auto status = sp_.Load(model_file.string());
    if (!status.ok())
      throw EngineError(model_file.string() + ": not a SentencePiece model (" + status.ToString() +
                        ")");
  }
  // A model given as its serialized ModelProto (a GGUF's llama vocabulary); `source` names
  // where it came from.
  SentencePieceTokenizer(const std::string& serialized_proto, bool add_bos,
                         const std::string& source)
      : add_bos_(add_bos) {
    const auto status = sp_.LoadFromSerializedProto(serialized_proto);
    if (!status.ok())
      throw EngineError(source + ": not a valid SentencePiece vocabulary (" + status.ToString() +
                        ")");
  }

  std::vector<int> encode(std::string_view text) const override {
    std::vector<int> ids;
    if (add_bos_ && bos_id()) ids.push_back(*bos_id());
    encode_piece(text, ids);
    return ids;
  }

  // The special tokens transformers' Llama tokenizers split out of text (BOS,
  // EOS, UNK, by their pieces "<s>", "</s>", "<unk>"); SentencePiece alone
  // would read them as characters. The text between them is encoded as usual.
  std::vector<int> encode_without_special(std::string_view text) const override {
    std::vector<std::pair<std::string, int>> specials;
    for (int id : {sp_.bos_id(), sp_.eos_id(), sp_.unk_id()})
      if (id >= 0 && !sp_.IdToPiece(id).empty()) specials.emplace_back(sp_.IdToPiece(id), id);
    std::vector<int> ids;
    std::size_t start = 0, at = 0;
    while (at < text.size()) {
      const auto special = std::find_if(specials.begin(), specials.end(), [&](const auto& s) {
        return text.substr(at, s.first.size()) == s.first;
      });
      if (special == specials.end()) {
        ++at;
        continue;
      }
      encode_piece(text.substr(start, at - start), ids);
      ids.push_back(special->second);
      at += special->first.size();
      start = at;
    }
    encode_piece(text.substr(start), ids);
    return ids;
  }

  std::string decode(std::span<const int> ids) const override {
    std::string text;
    const auto status = sp_.Decode(std::vector<int>(ids.begin(), ids.end()), &text);
    if (!status.ok()) throw EngineError("tokenizer: cannot decode ids (" + status.ToString() + ")");
    return text;
  }

  std::string piece(int id) const override { return sp_.IdToPiece(id); }
  int vocab_size() const override { return sp_.GetPieceSize(); }
  std::optional<int> bos_id() const override { return optional_id(sp_.bos_id()); }
  std::optional<int> eos_id() const override { return optional_id(sp_.eos_id()); }

 private:
  void encode_piece(std::string_view text, std::vector<int>& ids) const {
    if (text.empty()) return;
    std::vector<int> body;
    const auto status = sp_.Encode(text, &body);
    if (!status.ok())
      throw EngineError("tokenizer: cannot encode text (" + status.ToString() + ")");
    ids.insert(ids.end(), body.begin(), body.end());
  }
  static std::optional<int> optional_id(int id) {
    return id >= 0 ? std::optional<int>(id) : std::nullopt;
  }
  sentencepiece::SentencePieceProcessor sp_;
  bool add_bos_;
};

// tokenizer_config.json's add_bos_token; SentencePiece checkpoints default to true.
bool read_add_bos(const std::filesystem::path& model_dir) {
  const auto path = model_dir / "tokenizer_config.json";
  if (!path_exists(path)) return true;
  const auto json = read_json_file(path);
  if (!json.is_object()) throw EngineError(path.string() + ": not a JSON object");
  const auto it = json.find("add_bos_token");
  if (it == json.end() || it->is_null()) return true;
  if (!it->is_boolean()) throw EngineError(path.string() + ": add_bos_token must be true or false");
  return it->get<bool>();
}

// Length of the longest prefix made of whole UTF-8 characters, not ending in
// U+FFFD (what a decoder writes for bytes of a character still to come).
std::size_t displayable_prefix(const std::string& text) {
  std::size_t end = text.size();
  // Step back over an incomplete trailing sequence.
  std::size_t start = end;
  while (start > 0 && end - start < 4 &&
         (static_cast<unsigned char>(text[start - 1]) & 0xC0) == 0x80)
    --start;
  if (start > 0) {
    const auto lead = static_cast<unsigned char>(text[start - 1]);
    const std::size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (need > end - start + 1) end = start - 1;
  }
  static const std::string replacement = "\xEF\xBF\xBD";
  while (end >= 3 && text.compare(end - 3, 3, replacement) == 0) end -= 3;
  return end;
}

}  // namespace

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto n = static_cast<std::int32_t>(text.size());
  for (std::int32_t i = 0; i < n;) {
    const std::int32_t start = i;
    UChar32 c;
    U8_NEXT(text.data(), i, n, c);
    if (c < 0)
      out += "\xEF\xBF\xBD";
    else
      out.append(text.data() + start, std::size_t(i - start));
  }
  return out;
}

std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(const std::string& serialized_proto,
                                                        bool add_bos, const std::string& source) {
  return std::make_unique<SentencePieceTokenizer>(serialized_proto, add_bos, source);
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir) {
  // A .gguf file: the tokenizer files beside it when there are any, else its own.
  if (model_dir.extension() == ".gguf" && !std::filesystem::is_directory(model_dir)) {
    const auto folder = std::filesystem::absolute(model_dir).parent_path();
    if (path_exists(folder / "tokenizer.json") || path_exists(folder / "tokenizer.model"))
      return load_tokenizer(folder);
    return load_gguf_tokenizer(model_dir);
  }
  const auto sp_model = model_dir / "tokenizer.model";
  // tokenizer.json first, unless it is a SentencePiece-style one (Mixtral) with
  // the tokenizer.model it was converted from beside it.
  const auto hf_json = model_dir / "tokenizer.json";
  if (path_exists(hf_json) && (!path_exists(sp_model) || is_byte_level_bpe(hf_json)))
    return load_bpe_tokenizer(model_dir);
  if (path_exists(sp_model))
    return std::make_unique<SentencePieceTokenizer>(sp_model, read_add_bos(model_dir));
  throw EngineError(model_dir.string() +
                    ": no tokenizer found (expected tokenizer.json, a Hugging Face tokenizer, or "
                    "tokenizer.model, a SentencePiece model)");
}

TextStream::TextStream(const Tokenizer& tokenizer, std::span<const int> context)
    : tokenizer_(tokenizer), ids_(context.begin(), context.end()) {
  if (!ids_.empty()) emitted_ = displayable_prefix(tokenizer_.decode(ids_));
}

std::string TextStream::push(int id) {
  ids_.push_back(id);
  const std::string text = tokenizer_.decode(ids_);
  const std::size_t end = displayable_prefix(text);
  if (end <= emitted_) return {};
  std::string out = valid_utf8(std::string_view(text).substr(emitted_, end - emitted_));
  emitted_ = end;
  return out;
}

std::string TextStream::flush() {
  const std::string text = tokenizer_.decode(ids_);
  if (text.size() <= emitted_) return {};
  std::string out = valid_utf8(std::string_view(text).substr(emitted_));
  emitted_ = text.size();
  return out;
}

}  // namespace moescope
