#pragma once
// The "pre_tokenizer" of a tokenizer.json: splits text into the words BPE
// merges within. Supported: Sequence, Split (Regex or String pattern, every
// behavior, invert), ByteLevel (add_prefix_space, use_regex with GPT-2's
// pattern; maps bytes to the byte-level alphabet) and Digits.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moescope {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits each piece further, in place, dropping empty pieces. Pieces are valid UTF-8.
  virtual void split(std::vector<std::string>& pieces) const = 0;
};

// nullptr for a null pre_tokenizer or an empty Sequence. `where` names the file
// and field for error messages, e.g. "dir/tokenizer.json: pre_tokenizer".
std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const nlohmann::json& spec,
                                                  const std::string& where);

}  // namespace moescope
