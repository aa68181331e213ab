#include "tokenizer/pretokenizer.h"

#include <algorithm>
#include <optional>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/unicode_regex.h"

namespace moescope {
namespace {

using nlohmann::json;

// How a Split keeps the delimiters it finds (tokenizers' SplitDelimiterBehavior).
enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

struct Span {
  std::size_t begin, end;
  bool is_match;
};

// The text cut into matches and the stretches between them, covering all of it.
std::vector<Span> find_spans(const UnicodeRegex& regex, const std::string& text, bool invert) {
  std::vector<Span> spans;
  std::size_t prev = 0;
  for (const auto& [b, e] : regex.find_all(text)) {
    if (prev != b) spans.push_back({prev, b, invert});
    spans.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != text.size()) spans.push_back({prev, text.size(), invert});
  return spans;
}

// Applies `behavior` to the spans of one piece; appends the non-empty pieces to `out`.
void cut(const std::string& text, std::vector<Span> spans, Behavior behavior,
         std::vector<std::string>& out) {
  std::vector<Span> kept;
  switch (behavior) {
    case Behavior::isolated:
      kept = std::move(spans);
      break;
    case Behavior::removed:
      for (const auto& s : spans)
        if (!s.is_match) kept.push_back(s);
      break;
    case Behavior::merged_with_previous: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.is_match && !previous_match && !kept.empty())
          kept.back().end = s.end;
        else
          kept.push_back(s);
        previous_match = s.is_match;
      }
      break;
    }
    case Behavior::merged_with_next: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !kept.empty())
          kept.back().begin = it->begin;
        else
          kept.push_back(*it);
        previous_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
    case Behavior::contiguous: {
      bool previous_match = false;
      for (const auto& s : spans) {
        if (s.is_match == previous_match && !kept.empty())
          kept.back().end = s.end;
        else
          kept.push_back(s);
        previous_match = s.is_match;
      }
      break;
    }
  }
  for (const auto& s : kept)
    if (s.end > s.begin) out.push_back(text.substr(s.begin, s.end - s.begin));
}

class Split final : public PreTokenizer {
 public:
  Split(UnicodeRegex regex, Behavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  void split(std::vector<std::string>& pieces) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size());
    for (const auto& p : pieces) cut(p, find_spans(regex_, p, invert_), behavior_, out);
    pieces = std::move(out);
  }

 private:
  UnicodeRegex regex_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's pattern, which ByteLevel uses when use_regex is set.
constexpr const char* gpt2_pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex) regex_.emplace(gpt2_pattern);
  }
  void split(std::vector<std::string>& pieces) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size());
    for (auto& p : pieces) {
      if (add_prefix_space_ && !p.starts_with(' ')) p.insert(p.begin(), ' ');
      if (regex_)
        cut(p, find_spans(*regex_, p, false), Behavior::isolated, out);
      else if (!p.empty())
        out.push_back(std::move(p));
    }
    for (auto& p : out) p = bytes_to_chars(p);
    pieces = std::move(out);
  }

 private:
  bool add_prefix_space_;
  std::optional<UnicodeRegex> regex_;
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void split(std::vector<std::string>& pieces) const override {
    for (const auto& step : steps_) step->split(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

bool flag(const json& spec, const char* key, bool fallback, const std::string& where) {
  const auto it = spec.find(key);
  if (it == spec.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw EngineError(where + "." + key + ": expected true or false");
  return it->get<bool>();
}

Behavior parse_behavior(const json& spec, const std::string& where) {
  const auto it = spec.find("behavior");
  if (it == spec.end() || !it->is_string())
    throw EngineError(where + ".behavior: expected a string");
  const std::string b = *it;
  if (b == "Removed") return Behavior::removed;
  if (b == "Isolated") return Behavior::isolated;
  if (b == "MergedWithPrevious") return Behavior::merged_with_previous;
  if (b == "MergedWithNext") return Behavior::merged_with_next;
  if (b == "Contiguous") return Behavior::contiguous;
  throw EngineError(where + ".behavior: unknown behavior \"" + b + "\"");
}

std::unique_ptr<PreTokenizer> parse_split(const json& spec, const std::string& where) {
  const auto pattern = spec.find("pattern");
  if (pattern == spec.end() || !pattern->is_object())
    throw EngineError(where + ".pattern: expected {\"Regex\": ...} or {\"String\": ...}");
  const bool literal = pattern->contains("String");
  const auto text = pattern->find(literal ? "String" : "Regex");
  if (text == pattern->end() || !text->is_string())
    throw EngineError(where + ".pattern: expected {\"Regex\": ...} or {\"String\": ...}");
  try {
    return std::make_unique<Split>(UnicodeRegex(*text, literal), parse_behavior(spec, where),
                                   flag(spec, "invert", false, where));
  } catch (const EngineError& e) {
    if (std::string(e.what()).starts_with(where)) throw;
    throw EngineError(where + ".pattern: " + e.what());
  }
}

}  // namespace

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const json& spec, const std::string& where) {
  if (spec.is_null()) return nullptr;
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string())
    throw EngineError(where + ": expected an object with a \"type\"");
  const std::string type = spec["type"];
  if (type == "Sequence") {
    const auto it = spec.find("pretokenizers");
    if (it == spec.end() || !it->is_array())
      throw EngineError(where + ".pretokenizers: expected an array");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (std::size_t i = 0; i < it->size(); ++i)
      if (auto step =
              parse_pre_tokenizer((*it)[i], where + ".pretokenizers[" + std::to_string(i) + "]"))
        steps.push_back(std::move(step));
    if (steps.empty()) return nullptr;
    if (steps.size() == 1) return std::move(steps.front());
    return std::make_unique<Sequence>(std::move(steps));
  }
  if (type == "Split") return parse_split(spec, where);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(flag(spec, "add_prefix_space", true, where),
                                       flag(spec, "use_regex", true, where));
  if (type == "Digits") {
    const Behavior b =
        flag(spec, "individual_digits", false, where) ? Behavior::isolated : Behavior::contiguous;
    // One match per numeric character, as tokenizers' char predicate gives.
    return std::make_unique<Split>(UnicodeRegex(R"(\p{N})"), b, false);
  }
  throw EngineError(where + ": unsupported pre-tokenizer type \"" + type +
                    "\" (supported: Sequence, Split, ByteLevel, Digits)");
}

}  // namespace moescope
