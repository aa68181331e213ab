#include "tokenizer/gguf_tokenizer.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/gguf.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/gguf_token_type.h"
#include "tokenizer/sentencepiece_proto.h"
#include "tokenizer/tokenizer.h"

namespace moescope {
namespace {

using nlohmann::json;

// llama.cpp's pre-tokenizer names, as the tokenizer.json pipelines of the families they
// come from (normalizer and pre_tokenizer of tests/fixtures/tokenizers/*).
const std::map<std::string, const char*>& pipelines() {
  static const std::map<std::string, const char*> known = {
      {"deepseek-llm",
       R"json({"normalizer": {"type": "Sequence", "normalizers": []}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "[\r\n]"}, "behavior": "Isolated", "invert": false}, {"type": "Split", "pattern": {"Regex": "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\ud801\udc00-\ud801\udc4f\ud801\udcb0-\ud801\udcd3\ud801\udcd8-\ud801\udcfb\ud803\udc80-\ud803\udcb2\ud803\udcc0-\ud803\udcf2\ud806\udca0-\ud806\udcdf\ud83a\udd00-\ud83a\udd43]+"}, "behavior": "Isolated", "invert": false}, {"type": "Split", "pattern": {"Regex": "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+"}, "behavior": "Isolated", "invert": false}, {"type": "Split", "pattern": {"Regex": "\\s+$"}, "behavior": "Isolated", "invert": false}, {"type": "Split", "pattern": {"Regex": "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"}, "behavior": "Isolated", "invert": false}, {"type": "Digits", "individual_digits": true}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}})json"},
      {"qwen2",
       R"json({"normalizer": {"type": "NFC"}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}})json"},
      {"olmo",
       R"json({"normalizer": {"type": "NFC"}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}})json"},
  };
  return known;
}

using namespace gguf_token;

class Reader {
 public:
  explicit Reader(const GgufFile& file) : file_(file) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw EngineError(file_.path().string() + ": metadata '" + key + "' " + problem);
  }
  const GgufValue& required(const std::string& key) const {
    const GgufValue* v = file_.find(key);
    if (!v) fail(key, "is missing");
    return *v;
  }
  std::string text(const std::string& key) const {
    const GgufValue& v = required(key);
    if (const auto* s = std::get_if<std::string>(&v.scalar); s && v.type == GgufType::string)
      return *s;
    fail(key, "must be a string, not " + std::string(gguf_type_name(v.type)));
  }
  const std::vector<GgufScalar>& array(const std::string& key, GgufType element) const {
    const GgufValue& v = required(key);
    if (v.type != GgufType::array || v.element_type != element)
      fail(key, "must be an array of " + std::string(gguf_type_name(element)));
    return v.array;
  }
  std::optional<int> token_id(const std::string& key, std::size_t vocab) const {
    const GgufValue* v = file_.find(key);
    if (!v) return std::nullopt;
    const auto* u = std::get_if<std::uint64_t>(&v->scalar);
    if (!u || *u >= vocab) fail(key, "must be a token id below " + std::to_string(vocab));
    return int(*u);
  }
  bool flag(const std::string& key, bool fallback) const {
    const GgufValue* v = file_.find(key);
    if (!v) return fallback;
    if (const auto* b = std::get_if<bool>(&v->scalar)) return *b;
    fail(key, "must be a bool, not " + std::string(gguf_type_name(v->type)));
  }

 private:
  const GgufFile& file_;
};

json tokenizer_spec(const Reader& r) {
  const std::string pre = r.text("tokenizer.ggml.pre");
  const auto pipeline = pipelines().find(pre);
  if (pipeline == pipelines().end())
    r.fail("tokenizer.ggml.pre",
           "\"" + pre + "\" is not a supported pre-tokenizer (deepseek-llm, qwen2, olmo)");
  json spec = json::parse(pipeline->second);

  const auto& tokens = r.array("tokenizer.ggml.tokens", GgufType::string);
  if (tokens.empty() || tokens.size() > (1u << 22))
    r.fail("tokenizer.ggml.tokens", "must hold 1 to 4194304 tokens");
  const auto& types = r.array("tokenizer.ggml.token_type", GgufType::int32);
  if (types.size() != tokens.size())
    r.fail("tokenizer.ggml.token_type", "must give one type per token");
  json vocab = json::object(), added = json::array();
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = std::get<std::string>(tokens[i]);
    const std::int64_t type = std::get<std::int64_t>(types[i]);
    if (type < normal || type > byte)
      r.fail("tokenizer.ggml.token_type", "[" + std::to_string(i) + "] is not a token type");
    if (type == unused) continue;
    if (token.empty()) r.fail("tokenizer.ggml.tokens", "[" + std::to_string(i) + "] is empty");
    if (type == control || type == user_defined) {
      added.push_back({{"id", i}, {"content", token}, {"special", type == control}});
    } else if (!vocab.emplace(token, i).second) {
      r.fail("tokenizer.ggml.tokens",
             "[" + std::to_string(i) + "] \"" + token + "\" is given twice");
    }
  }
  json merges = json::array();
  for (const auto& m : r.array("tokenizer.ggml.merges", GgufType::string))
    merges.push_back(std::get<std::string>(m));
  spec["model"] = {{"type", "BPE"}, {"vocab", std::move(vocab)}, {"merges", std::move(merges)}};
  spec["added_tokens"] = std::move(added);
  spec["decoder"] = {{"type", "ByteLevel"}};
  return spec;
}

}  // namespace

// llama.cpp's `llama` vocabulary (SentencePiece): pieces, scores and types as a
// SentencePiece BPE model, byte fallback through its BYTE pieces; llama.cpp's defaults
// (UNK 0, BOS 1, EOS 2, BOS added, a space prefixed) where a key is absent.
std::unique_ptr<Tokenizer> sentencepiece_tokenizer(const Reader& r, const std::string& source) {
  SentencePieceVocabulary v;
  const auto& tokens = r.array("tokenizer.ggml.tokens", GgufType::string);
  if (tokens.empty() || tokens.size() > (1u << 22))
    r.fail("tokenizer.ggml.tokens", "must hold 1 to 4194304 tokens");
  const auto& scores = r.array("tokenizer.ggml.scores", GgufType::float32);
  const auto& types = r.array("tokenizer.ggml.token_type", GgufType::int32);
  if (scores.size() != tokens.size())
    r.fail("tokenizer.ggml.scores", "must give one score per token");
  if (types.size() != tokens.size())
    r.fail("tokenizer.ggml.token_type", "must give one type per token");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& piece = std::get<std::string>(tokens[i]);
    const std::int64_t type = std::get<std::int64_t>(types[i]);
    const double score = std::get<double>(scores[i]);
    if (piece.empty()) r.fail("tokenizer.ggml.tokens", "[" + std::to_string(i) + "] is empty");
    if (type < normal || type > byte)
      r.fail("tokenizer.ggml.token_type", "[" + std::to_string(i) + "] is not a token type");
    if (!std::isfinite(score))
      r.fail("tokenizer.ggml.scores", "[" + std::to_string(i) + "] is not finite");
    v.pieces.push_back(piece);
    v.scores.push_back(float(score));
    v.types.push_back(std::int32_t(type));
  }
  const std::size_t vocab = tokens.size();
  const auto id_or = [&](const char* key, int fallback) {
    return r.token_id(key, vocab).value_or(fallback);
  };
  v.unk_id = id_or("tokenizer.ggml.unknown_token_id", 0);
  v.bos_id = id_or("tokenizer.ggml.bos_token_id", 1);
  v.eos_id = id_or("tokenizer.ggml.eos_token_id", 2);
  v.pad_id = id_or("tokenizer.ggml.padding_token_id", -1);
  v.add_dummy_prefix = r.flag("tokenizer.ggml.add_space_prefix", true);
  if (r.flag("tokenizer.ggml.add_eos_token", false))
    r.fail("tokenizer.ggml.add_eos_token", "true is not supported for a llama vocabulary");
  return make_sentencepiece_tokenizer(serialize_sentencepiece(v),
                                      r.flag("tokenizer.ggml.add_bos_token", true), source);
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& path) {
  const GgufFile file(path);
  const Reader r(file);
  const std::string model = r.text("tokenizer.ggml.model");
  if (model == "llama") return sentencepiece_tokenizer(r, path.string() + ": tokenizer.ggml");
  if (model != "gpt2")
    r.fail("tokenizer.ggml.model", "\"" + model +
                                       "\" is not supported (supported: \"gpt2\", byte-level BPE; "
                                       "\"llama\", SentencePiece)");
  const json spec = tokenizer_spec(r);
  const std::size_t vocab = r.array("tokenizer.ggml.tokens", GgufType::string).size();
  BpeSpecialTokens special;
  special.bos = r.token_id("tokenizer.ggml.bos_token_id", vocab);
  special.eos = r.token_id("tokenizer.ggml.eos_token_id", vocab);
  special.add_bos = r.flag("tokenizer.ggml.add_bos_token", false);
  special.add_eos = r.flag("tokenizer.ggml.add_eos_token", false);
  if (special.add_bos && !special.bos)
    r.fail("tokenizer.ggml.add_bos_token", "is true but there is no bos_token_id");
  if (special.add_eos && !special.eos)
    r.fail("tokenizer.ggml.add_eos_token", "is true but there is no eos_token_id");
  for (const char* key : {"tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"})
    r.token_id(key, vocab);  // not used by the pipeline, but a broken one is a broken file
  return make_bpe_tokenizer(spec, path.string() + ": tokenizer.ggml", special);
}

std::optional<std::string> read_gguf_chat_template(const std::filesystem::path& path) {
  const GgufFile file(path);
  if (!file.find("tokenizer.chat_template")) return std::nullopt;
  return Reader(file).text("tokenizer.chat_template");
}

}  // namespace moescope
