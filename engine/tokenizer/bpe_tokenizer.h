#pragma once
// Byte-level BPE tokenizers from a Hugging Face `tokenizer.json` (DeepSeek LLM /
// DeepSeekMoE, Qwen2 / Qwen1.5-MoE, GPT-NeoX / OLMoE pipelines), with the BOS
// and EOS rules of the directory's tokenizer_config.json.
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tokenizer/tokenizer.h"

namespace moescope {

// Loads model_dir/tokenizer.json (and tokenizer_config.json when present).
// Throws EngineError naming the file and field of anything malformed or unsupported.
//
// encode: added tokens are split out first (longest match), the rest is
// normalized, pre-tokenized and merged; then BOS/EOS are added as
// transformers' AutoTokenizer would: tokenizer_config.json's add_bos_token /
// add_eos_token when it sets them, else the post_processor's template.
// Text that is not valid UTF-8 is read with U+FFFD for each ill-formed sequence.
//
// decode: the bytes of every token, added and special tokens as their text, so
// decode(ids after the BOS) gives back the encoded text byte for byte.
// piece: the token's text with ' ' shown as U+2581 and other control bytes or
// bytes of a split character as <0xNN>, as SentencePiece pieces look.
// Ids the vocabulary lacks (a model's embedding rows past the tokenizer's
// vocabulary) decode to nothing, as in Hugging Face, and show as an empty piece.
std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::filesystem::path& model_dir);

// The BOS/EOS rules a tokenizer.json alone lacks, as a GGUF file's metadata gives them.
struct BpeSpecialTokens {
  std::optional<int> bos, eos;
  bool add_bos = false, add_eos = false;
};

// A byte-level BPE from a tokenizer.json-shaped object (model, normalizer,
// pre_tokenizer, added_tokens, decoder) with `special`'s BOS/EOS; `where` names its
// source in every EngineError.
std::unique_ptr<Tokenizer> make_bpe_tokenizer(const nlohmann::json& spec, const std::string& where,
                                              const BpeSpecialTokens& special);

// Whether `tokenizer_json` describes a byte-level BPE (its decoder is ByteLevel),
// which load_bpe_tokenizer reads; false for SentencePiece-style files such as
// Mixtral's (Metaspace, byte fallback), whose tokenizer.model serves instead.
// Throws EngineError when the file cannot be read as JSON.
bool is_byte_level_bpe(const std::filesystem::path& tokenizer_json);

}  // namespace moescope
