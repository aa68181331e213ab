#include "tokenizer/bpe_tokenizer.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "core/path_status.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"

namespace moescope {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json read_json(const fs::path& path) {
  json j = read_json_file(path);
  if (!j.is_object()) throw EngineError(path.string() + ": not a JSON object");
  return j;
}

bool is_byte_level_decoder(const json& spec) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) return false;
  if (spec["type"] == "ByteLevel") return true;
  return spec["type"] == "Sequence" && spec.contains("decoders") && spec["decoders"].is_array() &&
         spec["decoders"].size() == 1 && is_byte_level_decoder(spec["decoders"][0]);
}

// The decoder must undo the byte-level mapping: ByteLevel, alone or in a Sequence.
void check_decoder(const json& spec, const std::string& where) {
  if (!is_byte_level_decoder(spec))
    throw EngineError(where + ": unsupported decoder " +
                      (spec.is_null() ? "null" : spec.dump().substr(0, 120)) +
                      " (a byte-level BPE needs the ByteLevel decoder)");
}

// The special tokens a post_processor's template puts before and after the text.
struct Template {
  std::vector<std::string> before, after;
};

void read_template(const json& spec, const std::string& where, Template& out) {
  if (spec.is_null()) return;
  const std::string type = spec.is_object() ? spec.value("type", "") : "";
  if (type == "ByteLevel") return;  // offsets only
  if (type == "Sequence") {
    if (!spec.contains("processors") || !spec["processors"].is_array())
      throw EngineError(where + ".processors: expected an array");
    for (std::size_t i = 0; i < spec["processors"].size(); ++i)
      read_template(spec["processors"][i], where + ".processors[" + std::to_string(i) + "]", out);
    return;
  }
  if (type != "TemplateProcessing")
    throw EngineError(where + ": unsupported post_processor " + spec.dump().substr(0, 80) +
                      " (supported: TemplateProcessing, ByteLevel, Sequence)");
  const auto single = spec.find("single");
  if (single == spec.end() || !single->is_array())
    throw EngineError(where + ".single: expected an array");
  bool seen_text = false;
  for (const json& item : *single) {
    if (item.contains("Sequence")) {
      seen_text = true;
    } else if (item.contains("SpecialToken") && item["SpecialToken"].contains("id") &&
               item["SpecialToken"]["id"].is_string()) {
      (seen_text ? out.after : out.before).push_back(item["SpecialToken"]["id"]);
    } else {
      throw EngineError(where + ".single: unexpected item " + item.dump());
    }
  }
}

// tokenizer_config.json's bos_token / eos_token: a string, {"content": ...} or null.
std::optional<std::string> config_token(const json& config, const char* key,
                                        const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  throw EngineError(where + ": \"" + key + "\" must be a string or {\"content\": ...}");
}

std::optional<bool> config_flag(const json& config, const char* key, const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw EngineError(where + ": \"" + key + "\" must be true or false");
  return it->get<bool>();
}

class BpeTokenizer final : public Tokenizer {
 public:
  // The pipeline of a tokenizer.json-shaped object; BOS/EOS come from read_config or
  // set_special.
  BpeTokenizer(const json& j, const std::string& where) {
    if (!j.is_object() || !j.contains("model")) throw EngineError(where + ": no \"model\"");
    model_ = std::make_unique<BpeModel>(j["model"], where);
    normalizer_ = parse_normalizer(j.value("normalizer", json()), where + ": normalizer");
    pre_tokenizer_ =
        parse_pre_tokenizer(j.value("pre_tokenizer", json()), where + ": pre_tokenizer");
    check_decoder(j.value("decoder", json()), where + ": decoder");
    added_ = AddedTokens(j.value("added_tokens", json()), where,
                         [this](std::string_view s) { return normalize(s); });
    vocab_size_ = int(model_->tokens().size());
    for (const auto& t : added_.all()) vocab_size_ = std::max(vocab_size_, t.id + 1);
  }

  void set_special(const BpeSpecialTokens& s) {
    bos_ = s.bos;
    eos_ = s.eos;
    if (s.add_bos && bos_) prefix_.push_back(*bos_);
    if (s.add_eos && eos_) suffix_.push_back(*eos_);
  }

  std::vector<int> encode(std::string_view input) const override {
    std::vector<int> ids = prefix_;
    const std::vector<int> body = encode_without_special(input);
    ids.insert(ids.end(), body.begin(), body.end());
    ids.insert(ids.end(), suffix_.begin(), suffix_.end());
    return ids;
  }

  std::vector<int> encode_without_special(std::string_view input) const override {
    const std::string text = to_valid_utf8(input);
    std::vector<int> ids;
    for (auto& raw : added_.split(text, false)) {
      if (raw.id) {
        ids.push_back(*raw.id);
        continue;
      }
      for (auto& piece : added_.split(normalize(raw.text), true)) {
        if (piece.id) {
          ids.push_back(*piece.id);
          continue;
        }
        std::vector<std::string> words{std::move(piece.text)};
        if (pre_tokenizer_) pre_tokenizer_->split(words);
        for (const auto& w : words) model_->encode_word(w, ids);
      }
    }
    return ids;
  }

  std::string decode(std::span<const int> ids) const override {
    std::string text;
    for (int id : ids) text += token_bytes(id);
    return text;
  }

  std::string piece(int id) const override {
    if (const AddedToken* t = added_.find(id)) return t->content;
    const std::string bytes = token_bytes(id);
    std::string out;
    for (std::size_t i = 0; i < bytes.size();) {
      const auto b = static_cast<unsigned char>(bytes[i]);
      const std::size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
      const std::string ch = bytes.substr(i, len);
      if (b == ' ') {
        out += "\u2581";
      } else if (b >= 0x80 && (b < 0xC2 || len > bytes.size() - i || to_valid_utf8(ch) != ch)) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        out += hex;
        i += 1;
        continue;
      } else if (b < 0x20 || b == 0x7F) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        out += hex;
      } else {
        out += ch;
      }
      i += len;
    }
    return out;
  }

  int vocab_size() const override { return vocab_size_; }
  std::optional<int> bos_id() const override { return bos_; }
  std::optional<int> eos_id() const override { return eos_; }

 private:
  std::string normalize(std::string_view s) const {
    return normalizer_ ? normalizer_->normalize(s) : std::string(s);
  }

  std::optional<int> id_of(const std::string& token) const {
    if (const auto id = added_.id_of(token)) return id;
    return model_->id_of(token);
  }

  // The bytes a token stands for: added tokens as their text, vocabulary entries
  // through the byte-level table (as they are when a character is not in it).
  std::string token_bytes(int id) const {
    if (const AddedToken* t = added_.find(id)) return t->content;
    const auto& tokens = model_->tokens();
    if (id < 0 || std::size_t(id) >= tokens.size() || tokens[id].empty()) return {};
    if (auto bytes = chars_to_bytes(tokens[id])) return *bytes;
    return tokens[id];
  }

 public:
  // tokenizer_config.json beside tokenizer.json (else config.json's ids).
  void read_config(const fs::path& dir, const json& tokenizer_json) {
    Template tmpl;
    read_template(tokenizer_json.value("post_processor", json()),
                  (dir / "tokenizer.json").string() + ": post_processor", tmpl);
    const fs::path file = dir / "tokenizer_config.json";
    const std::string where = file.string();
    json config = json::object();
    if (path_exists(file)) config = read_json(file);
    const auto lookup = [&](const std::string& token, const std::string& field) {
      const auto id = id_of(token);
      if (!id) throw EngineError(field + ": \"" + token + "\" is not a token of tokenizer.json");
      return *id;
    };
    if (const auto bos = config_token(config, "bos_token", where))
      bos_ = lookup(*bos, where + ": bos_token");
    if (const auto eos = config_token(config, "eos_token", where))
      eos_ = lookup(*eos, where + ": eos_token");
    if (!path_exists(file)) {  // fall back to config.json's ids
      const fs::path model_config = dir / "config.json";
      if (path_exists(model_config)) {
        const json c = read_json(model_config);
        if (c.contains("bos_token_id") && c["bos_token_id"].is_number_integer())
          bos_ = c["bos_token_id"].get<int>();
        if (c.contains("eos_token_id") && c["eos_token_id"].is_number_integer())
          eos_ = c["eos_token_id"].get<int>();
      }
    }
    const auto add_bos = config_flag(config, "add_bos_token", where);
    const auto add_eos = config_flag(config, "add_eos_token", where);
    if (add_bos || add_eos) {  // as transformers' Llama-style tokenizers do
      if (add_bos.value_or(false)) {
        if (!bos_) throw EngineError(where + ": add_bos_token is true but there is no bos_token");
        prefix_.push_back(*bos_);
      }
      if (add_eos.value_or(false)) {
        if (!eos_) throw EngineError(where + ": add_eos_token is true but there is no eos_token");
        suffix_.push_back(*eos_);
      }
    } else {
      const std::string tj = (dir / "tokenizer.json").string() + ": post_processor";
      for (const auto& t : tmpl.before) prefix_.push_back(lookup(t, tj));
      for (const auto& t : tmpl.after) suffix_.push_back(lookup(t, tj));
    }
  }

 private:
  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  AddedTokens added_;
  std::vector<int> prefix_, suffix_;
  std::optional<int> bos_, eos_;
  int vocab_size_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> load_bpe_tokenizer(const fs::path& model_dir) {
  const fs::path file = model_dir / "tokenizer.json";
  try {
    const json j = read_json(file);
    auto tokenizer = std::make_unique<BpeTokenizer>(j, file.string());
    tokenizer->read_config(model_dir, j);
    return tokenizer;
  } catch (const json::exception& e) {  // a field of an unexpected JSON type somewhere
    throw EngineError(file.string() + ": " + e.what());
  }
}

std::unique_ptr<Tokenizer> make_bpe_tokenizer(const json& spec, const std::string& where,
                                              const BpeSpecialTokens& special) {
  try {
    auto tokenizer = std::make_unique<BpeTokenizer>(spec, where);
    tokenizer->set_special(special);
    return tokenizer;
  } catch (const json::exception& e) {
    throw EngineError(where + ": " + e.what());
  }
}

bool is_byte_level_bpe(const fs::path& tokenizer_json) {
  const json j = read_json(tokenizer_json);
  return is_byte_level_decoder(j.value("decoder", json()));
}

}  // namespace moescope
