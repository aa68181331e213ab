#pragma once
// The "normalizer" of a tokenizer.json: null, NFC/NFD/NFKC/NFKD (ICU) or a
// Sequence of those.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace moescope {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string normalize(std::string_view text) const = 0;  // valid UTF-8 in and out
};

// nullptr for a null normalizer or an empty Sequence. `where` names the file
// and field for error messages, e.g. "dir/tokenizer.json: normalizer".
std::unique_ptr<Normalizer> parse_normalizer(const nlohmann::json& spec, const std::string& where);

}  // namespace moescope
