#pragma once
// JSON read from files. Nesting is limited where a document is parsed, so no deep
// document (200 000 nested brackets) reaches code that recurses over it, such as
// dump(); every problem is an EngineError naming the file and, where the parser was
// inside the document, the field.
#include <filesystem>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/json_path.h"
#include "core/text_file.h"

namespace moescope {

// Far deeper than any real config, tokenizer or snapshot (they nest at most ~6 levels).
inline constexpr int max_json_depth = 128;

// Parses `text` (from `source`); `also` sees every event, as nlohmann's parser callback,
// and must keep every value (return true) or throw.
inline nlohmann::json parse_json(std::string_view text, const std::string& source,
                                 const nlohmann::json::parser_callback_t& also = nullptr) {
  JsonPathTracker where;
  const auto limit = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth > max_json_depth)
      throw EngineError(source + ": nested deeper than " + std::to_string(max_json_depth) +
                        " levels");
    where.follow(event, parsed);
    return also ? also(depth, event, parsed) : true;
  };
  const auto at = [&] {
    const std::string path = where.path();
    return path.empty() ? std::string() : " (at " + path + ")";
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), limit);
  } catch (const nlohmann::json::exception& e) {
    throw EngineError(source + ": not valid JSON: " + e.what() + at());
  } catch (const std::bad_alloc&) {
    throw EngineError(source + ": too large to parse in memory" + at());
  }
}

// The whole file, parsed; throws naming the file when it cannot be read.
inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  return parse_json(read_text_file(path), path.string());
}

}  // namespace moescope
