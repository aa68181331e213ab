// A text set file (engine/analysis/text_set.h): any bytes give labelled documents, none
// empty and none with a separator line (U+001E alone) inside, that tokenize as the
// experiments do, or an EngineError.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "analysis/evaluation.h"
#include "analysis/text_set.h"
#include "core/error.h"
#include "fuzz_files.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto path = moescope::fuzz::scratch_dir("fuzz_text_set") / "python.txt";
  static const auto tokenizer =
      moescope::load_tokenizer(MOESCOPE_RESOURCES_DIR "/models/deepseekmoe-tiny");
  moescope::fuzz::write_file(path, data, size);
  try {
    const auto texts = moescope::load_text_set({path});
    if (texts.size() != 1 || texts[0].label != "python") std::abort();
    for (const std::string& document : texts[0].documents)
      if (document.empty() || document == "\x1e" || document.starts_with("\x1e\n") ||
          document.ends_with("\n\x1e") || document.find("\n\x1e\n") != std::string::npos)
        std::abort();
    const moescope::EvalSettings settings{64, 16, false};
    const auto streams = moescope::tokenize_text_set(*tokenizer, texts, settings);
    if (streams.size() != 1 || streams[0].ids.size() > 65) std::abort();
  } catch (const moescope::EngineError&) {
  }
  return 0;
}
