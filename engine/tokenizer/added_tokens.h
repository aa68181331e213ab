#pragma once
// The added_tokens of a tokenizer.json: strings matched in the text before
// anything else (longest match at the leftmost position), with lstrip/rstrip.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace moescope {

struct AddedToken {
  int id;
  std::string content;
  bool special, normalized, lstrip, rstrip;
};

class AddedTokens {
 public:
  AddedTokens() = default;
  // `where` names the file ("dir/tokenizer.json"); `normalize` maps the content of
  // normalized tokens as the text they are matched in.
  AddedTokens(const nlohmann::json& list, const std::string& where,
              const std::function<std::string(std::string_view)>& normalize);

  // A piece of text: an added token's id, or text to tokenize further.
  struct Piece {
    std::optional<int> id;
    std::string text;
  };
  // Splits `text` on the tokens with normalized == `normalized`.
  std::vector<Piece> split(std::string_view text, bool normalized) const;

  const AddedToken* find(int id) const;
  std::optional<int> id_of(const std::string& content) const;
  const std::vector<AddedToken>& all() const { return tokens_; }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<int, std::size_t> by_id_;  // id -> index into tokens_
  struct Match {
    std::string text;
    std::size_t token;  // index into tokens_
  };
  std::vector<Match> raw_, normalized_;  // longest first
};

}  // namespace moescope
