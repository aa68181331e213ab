#pragma once
// Labelled text collections for evaluation: one label per file (its stem, e.g.
// "python"), documents separated by a line holding only U+001E, the format of
// the bundled held-out corpus (tools/corpus/heldout).
#include <filesystem>
#include <string>
#include <vector>

namespace moescope {

struct LabelledText {
  std::string label;
  std::vector<std::string> documents;
};

// Throws EngineError naming the file when it cannot be read or holds no text.
std::vector<LabelledText> load_text_set(const std::vector<std::filesystem::path>& files);

// The *.txt files of a folder, sorted by name. Throws EngineError when there are none.
std::vector<std::filesystem::path> text_files_in(const std::filesystem::path& dir);

// The bundled per-domain held-out texts.
std::filesystem::path default_text_set_dir();

}  // namespace moescope
