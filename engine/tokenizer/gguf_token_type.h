#pragma once
// llama.cpp's token types, as tokenizer.ggml.token_type stores them (gguf-py TokenType).
#include <cstdint>

namespace moescope::gguf_token {

enum Type : std::int32_t {
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6
};

}  // namespace moescope::gguf_token
