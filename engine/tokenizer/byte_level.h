#pragma once
// GPT-2's byte <-> character table: every byte is written as one printable
// character (printable ASCII and most of Latin-1 stand for themselves, the
// rest are shifted to U+0100..), so byte-level BPE vocabularies are text.
#include <optional>
#include <string>
#include <string_view>

namespace moescope {

// The UTF-8 of the character that stands for `byte` ("Ġ" for ' ', "Ċ" for '\n').
const std::string& byte_to_char(unsigned char byte);

// The byte the character `code_point` stands for, if it is in the table.
std::optional<unsigned char> char_to_byte(char32_t code_point);

// Every byte of `bytes` as its character.
std::string bytes_to_chars(std::string_view bytes);

// `chars` (valid UTF-8) mapped back to bytes; nullopt when a character is not in the table.
std::optional<std::string> chars_to_bytes(std::string_view chars);

// The next code point of valid UTF-8 `s` at `i`, advancing `i`.
char32_t next_code_point(std::string_view s, std::size_t& i);

// `code_point` appended to `out` as UTF-8.
void append_utf8(std::string& out, char32_t code_point);

// `text` with every ill-formed UTF-8 sequence replaced by U+FFFD (as Python's
// bytes.decode(errors="replace") does); `text` itself when it is well-formed.
std::string to_valid_utf8(std::string_view text);

}  // namespace moescope
