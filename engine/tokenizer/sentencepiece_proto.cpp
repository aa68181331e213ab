#include "tokenizer/sentencepiece_proto.h"

#include <algorithm>
#include <cstring>

namespace moescope {
namespace {

// Protobuf's wire format: each field a tag (number << 3 | wire type), then the value.
class Proto {
 public:
  void integer(int field, std::int64_t v) {  // varint; negative int32s take ten bytes
    tag(field, 0);
    varint(std::uint64_t(v));
  }
  void real(int field, float v) {  // fixed32
    tag(field, 5);
    char bytes[4];
    std::memcpy(bytes, &v, 4);
    out_.append(bytes, 4);
  }
  void bytes(int field, const std::string& v) {  // length-delimited: strings, messages
    tag(field, 2);
    varint(v.size());
    out_ += v;
  }
  const std::string& str() const { return out_; }

 private:
  void tag(int field, int wire) { varint(std::uint64_t(field) << 3 | std::uint64_t(wire)); }
  void varint(std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) out_ += char(v & 0x7f | 0x80);
    out_ += char(v);
  }
  std::string out_;
};

std::string piece_at(const SentencePieceVocabulary& v, int id) {
  return id >= 0 && std::size_t(id) < v.pieces.size() ? v.pieces[std::size_t(id)] : "";
}

}  // namespace

std::string serialize_sentencepiece(const SentencePieceVocabulary& v) {
  Proto model;
  for (std::size_t i = 0; i < v.pieces.size(); ++i) {
    Proto piece;
    piece.bytes(1, v.pieces[i]);
    piece.real(2, v.scores[i]);
    piece.integer(3, v.types[i]);
    model.bytes(1, piece.str());  // ModelProto.pieces
  }
  constexpr std::int32_t bpe = 2, byte = 6;
  Proto trainer;  // TrainerSpec
  trainer.integer(3, bpe);
  trainer.integer(4, std::int64_t(v.pieces.size()));
  trainer.integer(35, std::count(v.types.begin(), v.types.end(), byte) > 0);  // byte_fallback
  trainer.integer(40, v.unk_id);
  trainer.integer(41, v.bos_id);
  trainer.integer(42, v.eos_id);
  trainer.integer(43, v.pad_id);
  // The special pieces by text: the library finds BOS, EOS and PAD by them.
  trainer.bytes(45, piece_at(v, v.unk_id));
  if (v.bos_id >= 0) trainer.bytes(46, piece_at(v, v.bos_id));
  if (v.eos_id >= 0) trainer.bytes(47, piece_at(v, v.eos_id));
  if (v.pad_id >= 0) trainer.bytes(48, piece_at(v, v.pad_id));
  model.bytes(2, trainer.str());
  Proto normalizer;  // NormalizerSpec
  normalizer.bytes(1, "identity");
  normalizer.integer(3, v.add_dummy_prefix);
  normalizer.integer(4, 0);  // remove_extra_whitespaces
  normalizer.integer(5, 1);  // escape_whitespaces
  model.bytes(3, normalizer.str());
  return model.str();
}

}  // namespace moescope
