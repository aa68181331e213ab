// tokenizer.json: any bytes, as a model folder's only tokenizer file, give a tokenizer that
// encodes a fixed text to ids inside its vocabulary and decodes them, or an EngineError.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "fuzz_files.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto dir = moescope::fuzz::scratch_dir("fuzz_tokenizer_json");
  static constexpr std::string_view text =
      "Hello, world! It's 2024: x=42;\n\tdef f(a):  return a**2  \r\n"
      "日本語のテキスト, émigré café, 🙂👩‍💻 <|endoftext|><s></s>   end";
  moescope::fuzz::write_file(dir / "tokenizer.json", data, size);
  try {
    const auto tokenizer = moescope::load_tokenizer(dir);
    const auto ids = tokenizer->encode(text);
    for (int id : ids)
      if (id < 0 || id >= tokenizer->vocab_size()) std::abort();  // an id without an entry
    (void)tokenizer->decode(ids);
    for (int id : ids) (void)tokenizer->piece(id);
  } catch (const moescope::EngineError&) {
  }
  return 0;
}
