#include "wire/base64.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace moescope {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> decoding_table() {
  std::array<int, 256> table{};
  for (int& v : table) v = -1;
  for (std::size_t i = 0; i < alphabet.size(); ++i)
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  return table;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t group = std::uint32_t(bytes[i]) << 16;
    if (n > 1) group |= std::uint32_t(bytes[i + 1]) << 8;
    if (n > 2) group |= bytes[i + 2];
    out += alphabet[(group >> 18) & 63];
    out += alphabet[(group >> 12) & 63];
    out += n > 1 ? alphabet[(group >> 6) & 63] : '=';
    out += n > 2 ? alphabet[group & 63] : '=';
  }
  return out;
}

std::vector<std::uint8_t> base64_decode(std::string_view text, const std::string& field) {
  static constexpr auto table = decoding_table();
  if (text.size() % 4 != 0)
    throw EngineError(field + ": base64 of " + std::to_string(text.size()) +
                      " characters, not a multiple of 4 (truncated?)");
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int padding =
        last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
    std::uint32_t group = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + j];
      const int value = j >= 4 - padding ? 0 : table[static_cast<unsigned char>(c)];
      if (value < 0)
        throw EngineError(field + ": not base64 (character " + std::to_string(i + j) + " is " +
                          (c == '=' ? std::string("padding before the end")
                                    : "byte " + std::to_string(static_cast<unsigned char>(c))) +
                          ")");
      group = group << 6 | std::uint32_t(value);
    }
    out.push_back(std::uint8_t(group >> 16));
    if (padding < 2) out.push_back(std::uint8_t(group >> 8));
    if (padding < 1) out.push_back(std::uint8_t(group));
  }
  return out;
}

}  // namespace moescope
