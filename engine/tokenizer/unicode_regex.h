#pragma once
// A regular expression over UTF-8 text with Unicode properties (\p{L},
// \p{N}, \s, lookarounds), compiled once. PCRE2 in UTF + UCP mode, with `$`
// matching before a newline too, as in Oniguruma's Ruby syntax that Hugging
// Face tokenizers uses.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moescope {

class UnicodeRegex {
 public:
  // Throws EngineError("<pattern>: <PCRE2's message>") when it does not compile.
  // `literal`: match `pattern` as plain text.
  explicit UnicodeRegex(const std::string& pattern, bool literal = false);
  ~UnicodeRegex();
  UnicodeRegex(UnicodeRegex&&) noexcept;
  UnicodeRegex& operator=(UnicodeRegex&&) noexcept;

  // [begin, end) byte offsets of the successive non-overlapping matches in
  // `text`, which must be valid UTF-8. After an empty match the search resumes
  // one character further on.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace moescope
