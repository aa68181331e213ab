#pragma once
// A SentencePiece ModelProto (sentencepiece_model.proto), serialized, from a vocabulary
// given piece by piece: how a GGUF's `llama` vocabulary (gguf_tokenizer.h) becomes a
// SentencePiece model the library loads. Debian ships no protobuf header for it, so the
// few fields needed are written in protobuf's wire format here.
#include <cstdint>
#include <string>
#include <vector>

namespace moescope {

struct SentencePieceVocabulary {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<std::int32_t> types;  // SentencePiece's (and llama.cpp's) numbers: NORMAL 1 .. BYTE 6
  int unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // -1: none
  bool add_dummy_prefix = true;                         // llama.cpp's add_space_prefix
};

// A BPE model (merges by score, as llama.cpp's SPM tokenizer runs), byte fallback when
// the vocabulary has BYTE pieces, identity normalization with spaces as U+2581 and no
// whitespace collapsing (llama.cpp's SPM behaviour).
std::string serialize_sentencepiece(const SentencePieceVocabulary& v);

}  // namespace moescope
