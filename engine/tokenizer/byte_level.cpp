#include "tokenizer/byte_level.h"

#include <array>
#include <unordered_map>

namespace moescope {
namespace {

struct Table {
  std::array<std::string, 256> to_char;
  std::unordered_map<char32_t, unsigned char> to_byte;

  Table() {
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t c = printable ? char32_t(b) : char32_t(256 + shifted++);
      append_utf8(to_char[b], c);
      to_byte[c] = static_cast<unsigned char>(b);
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const std::string& byte_to_char(unsigned char byte) {
  return table().to_char[byte];
}

std::optional<unsigned char> char_to_byte(char32_t code_point) {
  const auto& m = table().to_byte;
  const auto it = m.find(code_point);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::string bytes_to_chars(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) out += byte_to_char(static_cast<unsigned char>(b));
  return out;
}

std::optional<std::string> chars_to_bytes(std::string_view chars) {
  std::string out;
  out.reserve(chars.size());
  for (std::size_t i = 0; i < chars.size();) {
    const auto b = char_to_byte(next_code_point(chars, i));
    if (!b) return std::nullopt;
    out += static_cast<char>(*b);
  }
  return out;
}

char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  char32_t cp = len == 1 ? b : len == 2 ? b & 0x1F : len == 3 ? b & 0x0F : b & 0x07;
  for (int k = 1; k < len && i + k < s.size(); ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

namespace {
// How many bytes at `i` belong to the UTF-8 sequence starting there (Unicode
// table 3-7): `whole` says whether they form a complete, well-formed character;
// otherwise they are the maximal ill-formed subpart (at least one byte).
std::size_t sequence_length(std::string_view s, std::size_t i, bool& whole) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b = at(0);
  whole = true;
  if (b < 0x80) return 1;
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    whole = false;
    return 1;
  }
  std::size_t k = 1;
  if (i + k < s.size() && at(k) >= lo && at(k) <= hi) {
    ++k;
    while (k < len && i + k < s.size() && (at(k) & 0xC0) == 0x80) ++k;
  }
  whole = k == len;
  return k;
}
}  // namespace

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  std::size_t copied = 0;  // text[0, copied) is already in `out`
  bool changed = false;
  for (std::size_t i = 0; i < text.size();) {
    bool whole;
    const std::size_t len = sequence_length(text, i, whole);
    if (!whole) {
      changed = true;
      out.append(text.substr(copied, i - copied));
      out += "\xEF\xBF\xBD";
      copied = i + len;
    }
    i += len;
  }
  if (!changed) return std::string(text);
  out.append(text.substr(copied));
  return out;
}

}  // namespace moescope
