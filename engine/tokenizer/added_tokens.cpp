#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "core/error.h"

namespace moescope {
namespace {

using nlohmann::json;

// Rust's char::is_whitespace for the characters lstrip/rstrip may meet.
std::size_t whitespace_length(std::string_view s, std::size_t i, bool backwards) {
  static const char* const spaces[] = {
      " ",      "\t",     "\n",     "\v",     "\f",     "\r",     "\u0085", "\u00a0", "\u1680",
      "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008",
      "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"};
  for (std::string_view sp : spaces) {
    if (backwards ? s.substr(0, i).ends_with(sp) : s.substr(i).starts_with(sp)) return sp.size();
  }
  return 0;
}

}  // namespace

AddedTokens::AddedTokens(const json& list, const std::string& where,
                         const std::function<std::string(std::string_view)>& normalize) {
  if (list.is_null()) return;
  if (!list.is_array()) throw EngineError(where + ": added_tokens: expected an array");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& t = list[i];
    const std::string at = where + ": added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) throw EngineError(at + ": expected an object");
    const auto it_id = t.find("id");
    const auto it_content = t.find("content");
    if (it_id == t.end() || !it_id->is_number_integer() || it_id->get<long long>() < 0)
      throw EngineError(at + ".id: expected a non-negative integer");
    if (it_content == t.end() || !it_content->is_string() || it_content->get<std::string>().empty())
      throw EngineError(at + ".content: expected a non-empty string");
    const auto flag = [&](const char* key, bool fallback) {
      const auto it = t.find(key);
      if (it == t.end() || it->is_null()) return fallback;
      if (!it->is_boolean()) throw EngineError(at + "." + key + ": expected true or false");
      return it->get<bool>();
    };
    AddedToken token{it_id->get<int>(),      it_content->get<std::string>(),
                     flag("special", false), false,
                     flag("lstrip", false),  flag("rstrip", false)};
    token.normalized = flag("normalized", !token.special);
    if (flag("single_word", false))
      throw EngineError(at + ".single_word: single_word added tokens are not supported");
    std::string match = token.normalized ? normalize(token.content) : token.content;
    (token.normalized ? normalized_ : raw_).push_back({std::move(match), tokens_.size()});
    if (!by_id_.emplace(token.id, tokens_.size()).second)
      throw EngineError(at + ".id: id " + std::to_string(token.id) + " is used twice");
    tokens_.push_back(std::move(token));
  }
  for (auto* m : {&raw_, &normalized_})
    std::stable_sort(m->begin(), m->end(),
                     [](const Match& a, const Match& b) { return a.text.size() > b.text.size(); });
}

std::vector<AddedTokens::Piece> AddedTokens::split(std::string_view text, bool normalized) const {
  const auto& matches = normalized ? normalized_ : raw_;
  std::vector<Piece> out;
  if (matches.empty()) {
    if (!text.empty()) out.push_back({std::nullopt, std::string(text)});
    return out;
  }
  std::size_t done = 0;  // text[0, done) is in `out`
  for (std::size_t i = 0; i < text.size();) {
    const Match* found = nullptr;
    for (const auto& m : matches)  // longest first
      if (text.compare(i, m.text.size(), m.text) == 0) {
        found = &m;
        break;
      }
    if (!found) {
      ++i;
      continue;
    }
    const AddedToken& token = tokens_[found->token];
    std::size_t begin = i, end = i + found->text.size();
    if (token.lstrip) {
      while (begin > done) {
        const std::size_t n = whitespace_length(text, begin, true);
        if (!n) break;
        begin -= n;
      }
    }
    if (token.rstrip)
      while (const std::size_t n = whitespace_length(text, end, false)) end += n;
    if (begin > done) out.push_back({std::nullopt, std::string(text.substr(done, begin - done))});
    out.push_back({token.id, {}});
    done = i = end;
  }
  if (done < text.size()) out.push_back({std::nullopt, std::string(text.substr(done))});
  return out;
}

const AddedToken* AddedTokens::find(int id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int> AddedTokens::id_of(const std::string& content) const {
  for (const auto& t : tokens_)
    if (t.content == content) return t.id;
  return std::nullopt;
}

}  // namespace moescope
