#pragma once
// Base64 (RFC 4648, standard alphabet, padded), the text form both vLLM and SGLang
// use for binary routing arrays inside JSON.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

std::string base64_encode(std::span<const std::uint8_t> bytes);

// Throws EngineError naming `field` on a character outside the alphabet, a
// length that is not a multiple of 4, or padding anywhere but at the end.
std::vector<std::uint8_t> base64_decode(std::string_view text, const std::string& field);

}  // namespace moescope
