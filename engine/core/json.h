#pragma once
// JSON read from files. Nesting is limited where a document is parsed, so no deep
// document (200 000 nested brackets) reaches code that recurses over it, such as
// dump(); every problem is an EngineError naming the file.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>

#include "core/error.h"

namespace moescope {

// Far deeper than any real config, tokenizer or snapshot (they nest at most ~6 levels).
inline constexpr int max_json_depth = 128;

// Parses `text` (from `source`); `also` sees every event, as nlohmann's parser callback.
inline nlohmann::json parse_json(std::string_view text, const std::string& source,
                                 const nlohmann::json::parser_callback_t& also = nullptr) {
  const auto limit = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth > max_json_depth)
      throw EngineError(source + ": nested deeper than " + std::to_string(max_json_depth) +
                        " levels");
    return also ? also(depth, event, parsed) : true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), limit);
  } catch (const nlohmann::json::exception& e) {
    throw EngineError(source + ": not valid JSON: " + e.what());
  }
}

// The whole file, parsed; throws naming the file when it cannot be read.
inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EngineError(path.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw EngineError(path.string() + ": read failed");
  return parse_json(text.str(), path.string());
}

}  // namespace moescope
