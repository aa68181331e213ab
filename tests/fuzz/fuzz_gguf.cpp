// One GGUF file: any bytes give validated metadata and tensor views or an EngineError;
// every view read to its end (ASan catches a view that reaches past the mapping). Its
// tokenizer.ggml.* tokenizer and chat template likewise: built and run, or refused.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_files.h"
#include "fuzz_tensors.h"
#include "model/gguf.h"
#include "tokenizer/gguf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto path = moescope::fuzz::scratch_dir("fuzz_gguf") / "model.gguf";
  moescope::fuzz::write_file(path, data, size);
  try {
    const moescope::GgufFile file(path);
    moescope::fuzz::read_every_view_to_its_end(file.tensors());
  } catch (const moescope::EngineError&) {
  }
  try {
    const auto tokenizer = moescope::load_gguf_tokenizer(path);
    tokenizer->decode(tokenizer->encode("ab ab <s> \xff"));
    moescope::read_gguf_chat_template(path);
  } catch (const moescope::EngineError&) {
  }
  return 0;
}
