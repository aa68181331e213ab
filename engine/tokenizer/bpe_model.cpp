#include "tokenizer/bpe_model.h"

#include <cstdio>
#include <queue>

#include "core/error.h"

namespace moescope {
namespace {

using nlohmann::json;

std::uint64_t pair_key(int a, int b) {
  return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b);
}

std::size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

}  // namespace

BpeModel::BpeModel(const json& model, const std::string& where) {
  const std::string field = where + ": model";
  if (!model.is_object()) throw EngineError(field + ": expected an object");
  if (model.contains("type") && model["type"] != "BPE")
    throw EngineError(field + ".type: unsupported model type " + model["type"].dump() +
                      " (supported: BPE)");
  const auto& vocab = model.contains("vocab") ? model["vocab"] : json();
  if (!vocab.is_object()) throw EngineError(field + ".vocab: expected an object");
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<long long>() < 0 || id.get<long long>() > (1 << 30))
      throw EngineError(field + ".vocab[\"" + token + "\"]: expected a non-negative id");
    const int i = id.get<int>();
    vocab_[token] = i;
    if (std::size_t(i) >= tokens_.size()) tokens_.resize(i + 1);
    if (!tokens_[i].empty())
      throw EngineError(field + ".vocab: id " + std::to_string(i) + " is used twice");
    tokens_[i] = token;
  }

  const auto string_field = [&](const char* key) -> std::optional<std::string> {
    const auto it = model.find(key);
    if (it == model.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw EngineError(field + "." + key + ": expected a string");
    return it->get<std::string>();
  };
  const auto bool_field = [&](const char* key) {
    const auto it = model.find(key);
    if (it == model.end() || it->is_null()) return false;
    if (!it->is_boolean()) throw EngineError(field + "." + key + ": expected true or false");
    return it->get<bool>();
  };
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (const auto v = string_field(key); v && !v->empty())
      throw EngineError(field + "." + key + ": not supported (byte-level BPE uses none)");
  if (const auto it = model.find("dropout");
      it != model.end() && !it->is_null() && !(it->is_number() && it->get<double>() == 0.0))
    throw EngineError(field + ".dropout: BPE dropout is not supported at inference");
  if (const auto unk = string_field("unk_token")) {
    unk_ = id_of(*unk);
    if (!unk_) throw EngineError(field + ".unk_token: \"" + *unk + "\" is not in the vocabulary");
  }
  fuse_unk_ = bool_field("fuse_unk");
  byte_fallback_ = bool_field("byte_fallback");
  ignore_merges_ = bool_field("ignore_merges");

  const auto& merges = model.contains("merges") ? model["merges"] : json::array();
  if (!merges.is_array()) throw EngineError(field + ".merges: expected an array");
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const json& m = merges[rank];
    const std::string at = field + ".merges[" + std::to_string(rank) + "]";
    std::string left, right;
    if (m.is_string()) {  // "a b"
      const std::string s = m;
      const auto space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        throw EngineError(at + ": expected \"left right\"");
      left = s.substr(0, space), right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0], right = m[1];
    } else {
      throw EngineError(at + ": expected \"left right\" or [\"left\", \"right\"]");
    }
    const auto a = id_of(left), b = id_of(right), merged = id_of(left + right);
    if (!a || !b || !merged)
      throw EngineError(at + ": \"" +
                        (!a   ? left
                         : !b ? right
                              : left + right) +
                        "\" is not in the vocabulary");
    merges_.try_emplace(pair_key(*a, *b), Merge{int(rank), *merged});
  }
}

std::optional<int> BpeModel::id_of(const std::string& token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::encode_word(std::string_view word, std::vector<int>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_)
    if (const auto id = id_of(std::string(word))) return ids.push_back(*id);
  constexpr std::size_t cacheable = 256;  // bytes; longer words are rare and cheap to recompute
  if (word.size() <= cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (const auto it = cache_.find(std::string(word)); it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int> merged = merge(word);
  ids.insert(ids.end(), merged.begin(), merged.end());
  if (word.size() <= cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() > 200'000) cache_.clear();
    cache_.emplace(std::string(word), std::move(merged));
  }
}

std::vector<int> BpeModel::merge(std::string_view word) const {
  // The initial symbols: one per character, else its bytes (byte_fallback), else unk.
  struct Symbol {
    int id;
    int prev, next;  // indices into `symbols`, -1 at the ends
    bool alive;
  };
  std::vector<Symbol> symbols;
  bool last_unk = false;
  for (std::size_t i = 0; i < word.size();) {
    const std::size_t len =
        std::min(utf8_length(static_cast<unsigned char>(word[i])), word.size() - i);
    const std::string ch(word.substr(i, len));
    i += len;
    std::vector<int> ids;
    if (const auto id = id_of(ch)) {
      ids.push_back(*id);
    } else if (byte_fallback_) {
      for (unsigned char b : ch) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        const auto byte_id = id_of(name);
        if (!byte_id) {
          ids.clear();
          break;
        }
        ids.push_back(*byte_id);
      }
    }
    if (ids.empty()) {
      if (!unk_) continue;  // tokenizers drops a character it cannot represent
      if (fuse_unk_ && last_unk) continue;
      ids.push_back(*unk_);
      last_unk = true;
    } else {
      last_unk = false;
    }
    for (int id : ids)
      symbols.push_back({id, int(symbols.size()) - 1, int(symbols.size()) + 1, true});
  }
  if (symbols.empty()) return {};
  symbols.back().next = -1;

  struct Candidate {
    int rank, pos, id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto consider = [&](int pos) {
    const int next = symbols[pos].next;
    if (next < 0) return;
    const auto it = merges_.find(pair_key(symbols[pos].id, symbols[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.id});
  };
  for (int pos = 0; pos < int(symbols.size()); ++pos) consider(pos);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.id != top.id) continue;  // stale
    left.id = top.id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  std::vector<int> out;
  for (int pos = 0; pos >= 0; pos = symbols[pos].next) out.push_back(symbols[pos].id);
  return out;
}

}  // namespace moescope
