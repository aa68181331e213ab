#include "tokenizer/gguf_vocabulary.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/json.h"
#include "core/path_status.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/gguf_token_type.h"

namespace moescope {
namespace fs = std::filesystem;
namespace {

using namespace gguf_token;

struct Vocabulary {
  std::vector<std::string> tokens;
  std::vector<std::int32_t> types;
};

[[noreturn]] void fail(const fs::path& file, const std::string& problem) {
  throw EngineError(file.string() + ": " + problem);
}

std::string pre_tokenizer_name(Family family, const fs::path& file) {
  switch (family) {
    case Family::deepseek:
      return "deepseek-llm";
    case Family::qwen2_moe:
      return "qwen2";
    case Family::olmoe:
      return "olmo";
    default:
      fail(file, "this family's pre-tokenizer has no llama.cpp name moescope writes");
  }
}

// tokenizer.json's vocabulary and added tokens by id, holes (and ids up to the model's
// `vocab_size`) as llama.cpp's converter fills them.
Vocabulary bpe_vocabulary(const nlohmann::json& tj, const fs::path& file, std::int64_t vocab_size) {
  const nlohmann::json& vocab = tj.at("model").at("vocab");
  std::map<std::int64_t, std::pair<std::string, std::int32_t>> by_id;
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > (1 << 24))
      fail(file, "model.vocab['" + token + "'] must be a token id");
    by_id[id.get<std::int64_t>()] = {token, normal};
  }
  for (const nlohmann::json& t : tj.value("added_tokens", nlohmann::json::array())) {
    const std::int64_t id = t.at("id").get<std::int64_t>();
    if (id < 0 || id > (1 << 24)) fail(file, "added_tokens: id out of range");
    by_id[id] = {t.at("content").get<std::string>(),
                 t.value("special", false) ? control : user_defined};
  }
  Vocabulary v;
  const std::int64_t size = std::max(by_id.empty() ? 0 : by_id.rbegin()->first + 1, vocab_size);
  for (std::int64_t i = 0; i < size; ++i) {
    const auto it = by_id.find(i);
    if (it == by_id.end()) {
      v.tokens.push_back(std::string("[PAD").append(std::to_string(i)).append("]"));
      v.types.push_back(unused);
      continue;
    }
    v.tokens.push_back(it->second.first);
    v.types.push_back(it->second.second);
  }
  return v;
}

void add_bpe(GgufMetadata& m, const fs::path& file, Family family, std::int64_t vocab_size) {
  const nlohmann::json tj = read_json_file(file);
  try {
    Vocabulary v = bpe_vocabulary(tj, file, vocab_size);
    std::vector<std::string> merges;
    for (const nlohmann::json& merge : tj.at("model").at("merges"))
      merges.push_back(merge.is_string()
                           ? merge.get<std::string>()
                           : merge.at(0).get<std::string>() + " " + merge.at(1).get<std::string>());
    m.emplace_back("tokenizer.ggml.model", gguf_string("gpt2"));
    m.emplace_back("tokenizer.ggml.pre", gguf_string(pre_tokenizer_name(family, file)));
    m.emplace_back("tokenizer.ggml.tokens", gguf_strings(std::move(v.tokens)));
    m.emplace_back("tokenizer.ggml.token_type", gguf_i32s(v.types));
    m.emplace_back("tokenizer.ggml.merges", gguf_strings(std::move(merges)));
  } catch (const nlohmann::json::exception& e) {
    fail(file, std::string("not a byte-level BPE tokenizer (") + e.what() + ")");
  }
}

void add_sentencepiece(GgufMetadata& m, const fs::path& file) {
  sentencepiece::SentencePieceProcessor sp;
  if (const auto status = sp.Load(file.string()); !status.ok())
    fail(file, "not a SentencePiece model (" + status.ToString() + ")");
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<std::int32_t> types;
  for (int i = 0; i < sp.GetPieceSize(); ++i) {
    pieces.push_back(sp.IdToPiece(i));
    scores.push_back(sp.GetScore(i));
    types.push_back(sp.IsUnknown(i)   ? unknown
                    : sp.IsControl(i) ? control
                    : sp.IsUnused(i)  ? unused
                    : sp.IsByte(i)    ? byte
                                      : normal);
  }
  m.emplace_back("tokenizer.ggml.model", gguf_string("llama"));
  m.emplace_back("tokenizer.ggml.pre", gguf_string("default"));
  m.emplace_back("tokenizer.ggml.tokens", gguf_strings(std::move(pieces)));
  m.emplace_back("tokenizer.ggml.scores", gguf_f32s(scores));
  m.emplace_back("tokenizer.ggml.token_type", gguf_i32s(types));
  // The library does not show its normalizer spec; whether it prefixes a space shows in
  // the first piece of a one-letter text ("\u2581a" or "\u2581", "a" with it, "a" without).
  std::vector<std::string> probe;
  if (!sp.Encode("a", &probe).ok() || probe.empty()) fail(file, "cannot encode text");
  m.emplace_back("tokenizer.ggml.add_space_prefix", gguf_bool(probe[0].starts_with("\u2581")));
  for (const auto& [key, id] :
       {std::pair{"unknown_token_id", sp.unk_id()}, {"padding_token_id", sp.pad_id()}})
    if (id >= 0) m.emplace_back(std::string("tokenizer.ggml.") + key, gguf_u32(std::uint32_t(id)));
}

// tokenizer_config.json: add_bos/add_eos (SentencePiece adds BOS unless told not to), the
// chat template. BOS/EOS ids are config.json's (gguf_export.cpp).
void add_config(GgufMetadata& m, const fs::path& dir, bool sentencepiece) {
  const fs::path file = dir / "tokenizer_config.json";
  const nlohmann::json config = path_exists(file) ? read_json_file(file) : nlohmann::json::object();
  if (!config.is_object()) fail(file, "not a JSON object");
  const auto flag = [&](const char* key, bool fallback) {
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(file, std::string(key) + " must be true or false");
    return it->get<bool>();
  };
  m.emplace_back("tokenizer.ggml.add_bos_token", gguf_bool(flag("add_bos_token", sentencepiece)));
  m.emplace_back("tokenizer.ggml.add_eos_token", gguf_bool(flag("add_eos_token", false)));
  if (const auto it = config.find("chat_template"); it != config.end() && !it->is_null()) {
    if (!it->is_string()) fail(file, "chat_template must be a string");
    m.emplace_back("tokenizer.chat_template", gguf_string(it->get<std::string>()));
  }
}

// The model's config.json, or an empty object without one.
nlohmann::json read_model_config(const fs::path& dir) {
  const fs::path file = dir / "config.json";
  return path_exists(file) ? read_json_file(file) : nlohmann::json::object();
}

// A token id field of the model's config.json (vocab_size, pad_token_id), where there is one.
std::optional<std::uint32_t> config_id(const nlohmann::json& config, const char* key) {
  const auto it = config.is_object() ? config.find(key) : config.end();
  if (it == config.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > (1u << 24))
    return std::nullopt;
  return std::uint32_t(it->get<std::uint64_t>());
}

// config.json's pad_token_id, as llama.cpp's converter writes it, unless the tokenizer
// itself named one (a SentencePiece model's pad piece).
void add_padding_id(GgufMetadata& m, const nlohmann::json& config) {
  const std::string key = "tokenizer.ggml.padding_token_id";
  if (std::any_of(m.begin(), m.end(), [&](const auto& entry) { return entry.first == key; }))
    return;
  if (const auto id = config_id(config, "pad_token_id")) m.emplace_back(key, gguf_u32(*id));
}

}  // namespace

GgufMetadata gguf_tokenizer_metadata(const fs::path& model, Family family) {
  // A .gguf file: the tokenizer files beside it when there are any (as load_tokenizer
  // chooses), else its own keys (BOS/EOS ids are written from the config).
  if (model.extension() == ".gguf" && !fs::is_directory(model)) {
    const fs::path folder = fs::absolute(model).parent_path();
    if (path_exists(folder / "tokenizer.json") || path_exists(folder / "tokenizer.model"))
      return gguf_tokenizer_metadata(folder, family);
    const GgufFile file(model);
    GgufMetadata m;
    for (const auto& [key, value] : file.metadata())
      if (key.starts_with("tokenizer.") && key != "tokenizer.ggml.bos_token_id" &&
          key != "tokenizer.ggml.eos_token_id")
        m.emplace_back(key, value);
    return m;
  }
  const fs::path& model_dir = model;
  GgufMetadata m;
  const fs::path json = model_dir / "tokenizer.json", spm = model_dir / "tokenizer.model";
  // As load_tokenizer chooses: tokenizer.json unless it is a SentencePiece-style one
  // converted from the tokenizer.model beside it.
  const bool bpe = path_exists(json) && (!path_exists(spm) || is_byte_level_bpe(json));
  if (!bpe && !path_exists(spm))
    fail(model_dir, "no tokenizer found (expected tokenizer.json or tokenizer.model)");
  const nlohmann::json config = read_model_config(model_dir);
  if (bpe)
    add_bpe(m, json, family, config_id(config, "vocab_size").value_or(0));
  else
    add_sentencepiece(m, spm);
  add_config(m, model_dir, !bpe);
  add_padding_id(m, config);
  return m;
}

}  // namespace moescope
