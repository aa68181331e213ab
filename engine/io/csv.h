#pragma once
// RFC 4180 fields, the one quoting rule of every CSV moescope writes (CLI and app).
#include <string>

namespace moescope {

// Quotes a field holding a comma, quote or line break, doubling its quotes.
inline std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace moescope
