// Encoding arbitrary bytes with the fixed tokenizers (the three byte-level BPE fixtures and
// the bundled SentencePiece model) gives ids inside the vocabulary, and decoding them gives
// back what each tokenizer promises; a broken promise aborts, so libFuzzer reports it.
//   byte-level BPE (bpe_tokenizer.h): decode(encode_without_special(s)) is s with every
//     ill-formed UTF-8 sequence read as U+FFFD, byte for byte where the pipeline has no
//     normalizer (DeepSeek), canonically equivalent (equal after NFC) where it is NFC
//     (Qwen, OLMoE: the text between added tokens is normalized piece by piece).
//   SentencePiece (identity normalization, byte fallback, no dummy prefix: tools/corpus):
//     valid UTF-8 comes back byte for byte, except U+2581, SentencePiece's own space
//     symbol, which decodes as ' ', and the control pieces <s>, </s> and <unk>, which
//     encode_without_special splits out and SentencePiece decodes as nothing or " ⁇ ".
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

enum class Promise { bytes, nfc, sentencepiece };

struct Fixed {
  const char* name;
  std::unique_ptr<moescope::Tokenizer> tokenizer;
  Promise promise;
};

std::vector<Fixed> load_fixed() {
  const std::string bpe = MOESCOPE_FIXTURES_DIR "/tokenizers/";
  std::vector<Fixed> out;
  out.push_back({"deepseek", moescope::load_tokenizer(bpe + "deepseek-moe-16b"), Promise::bytes});
  out.push_back({"qwen", moescope::load_tokenizer(bpe + "qwen1.5-moe"), Promise::nfc});
  out.push_back({"olmoe", moescope::load_tokenizer(bpe + "olmoe"), Promise::nfc});
  out.push_back({"sentencepiece",
                 moescope::load_tokenizer(MOESCOPE_RESOURCES_DIR "/models/deepseekmoe-tiny"),
                 Promise::sentencepiece});
  return out;
}

std::string nfc(const std::string& text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = icu::Normalizer2::getNFCInstance(status);
  std::string out;
  normalizer->normalize(icu::UnicodeString::fromUTF8(text), status).toUTF8String(out);
  if (U_FAILURE(status)) std::abort();
  return out;
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at))
    text.replace(at, from.size(), to), at += to.size();
  return text;
}

[[noreturn]] void broken(const Fixed& t, const std::string& expected, const std::string& got) {
  std::fprintf(stderr,
               "%s: decode(encode(s)) broke its promise:\n  expected %zu bytes: %s\n"
               "  got      %zu bytes: %s\n",
               t.name, expected.size(), expected.c_str(), got.size(), got.c_str());
  std::abort();
}

void check(const Fixed& t, const std::string& input) {
  const std::vector<int> ids = t.tokenizer->encode_without_special(input);
  for (int id : ids)
    if (id < 0 || id >= t.tokenizer->vocab_size()) std::abort();
  (void)t.tokenizer->encode(input);
  const std::string got = t.tokenizer->decode(ids);
  const std::string text = moescope::valid_utf8(input);
  switch (t.promise) {
    case Promise::bytes:
      if (got != text) broken(t, text, got);
      return;
    case Promise::nfc:
      if (nfc(got) != nfc(text)) broken(t, nfc(text), nfc(got));
      return;
    case Promise::sentencepiece: {
      if (text != input) return;  // no promise for bytes that are not UTF-8
      for (std::string_view control : {"<s>", "</s>", "<unk>"})
        if (input.find(control) != std::string::npos) return;
      const std::string expected = replaced(input, "\u2581", " ");
      if (got != expected) broken(t, expected, got);
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<Fixed> fixed = load_fixed();
  const std::string input(reinterpret_cast<const char*>(data), size);
  for (const Fixed& t : fixed) check(t, input);
  return 0;
}
