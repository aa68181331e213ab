#pragma once
// A model folder's tokenizer as llama.cpp's tokenizer.ggml.* keys, written into the GGUF
// files `moescope-cli quantize` makes, so that the file carries its own tokenizer
// (gguf_tokenizer.h reads it back; llama.cpp reads it too).
#include <filesystem>

#include "model/config.h"
#include "model/gguf_writer.h"

namespace moescope {

// tokenizer.json (byte-level BPE): model "gpt2", the pre-tokenizer named as llama.cpp
// names the family's (deepseek: deepseek-llm, qwen2_moe: qwen2, olmoe: olmo), tokens by
// id with their types (added special CONTROL, other added USER_DEFINED, holes "[PAD<id>]"
// UNUSED), merges "left right". tokenizer.model (SentencePiece): model "llama", pieces,
// scores and types (NORMAL, UNKNOWN, CONTROL, UNUSED, BYTE). Both: BOS/EOS/UNK/PAD ids,
// add_bos/add_eos from tokenizer_config.json, its chat_template. Throws EngineError
// naming the file and field of anything malformed, or the family without a llama.cpp
// pre-tokenizer name. `model` may be a .gguf file: the tokenizer files beside it, else
// its own tokenizer.* keys.
GgufMetadata gguf_tokenizer_metadata(const std::filesystem::path& model, Family family);

}  // namespace moescope
