#pragma once
// The tokenizer a GGUF file carries in its `tokenizer.ggml.*` metadata (llama.cpp's
// keys), mapped onto the byte-level BPE pipeline (bpe_tokenizer.h).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "tokenizer/tokenizer.h"

namespace moescope {

// Reads tokenizer.ggml.model ("llama": SentencePiece, below; "gpt2": byte-level BPE; others
// refused by name). gpt2: .pre
// (llama.cpp's pre-tokenizer name, mapped to the Hugging Face pipeline of that family:
// deepseek-llm, qwen2, olmo; others refused by name), .tokens, .token_type (CONTROL
// tokens become special added tokens, USER_DEFINED ones plain added tokens, UNUSED ones
// are left out), .merges ("left right"), .bos/.eos_token_id, .add_bos/.add_eos_token.
// llama: .tokens, .scores, .token_type (NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED,
// BYTE) as a SentencePiece BPE model with byte fallback, .unknown/.bos/.eos/.padding_token_id
// (default 0, 1, 2, none), .add_space_prefix (default true), .add_bos_token (default true).
// Throws EngineError naming the file and the key of anything missing or malformed.
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& file);

// The file's tokenizer.chat_template (a Jinja template, as tokenizer_config.json's
// chat_template); nullopt when absent. Throws EngineError naming the file and the key
// when it is not a string.
std::optional<std::string> read_gguf_chat_template(const std::filesystem::path& file);

}  // namespace moescope
