#include "analysis/text_set.h"

#include <algorithm>
#include <string_view>

#include "core/error.h"
#include "core/text_file.h"

namespace moescope {

namespace {

// Lines holding only U+001E end documents, wherever they stand (first, last, or twice in
// a row); the file's last newline ends its last line.
std::vector<std::string> split_documents(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::vector<std::string> documents;
  std::string document;
  bool started = false;  // a line of `document` has been read
  for (std::size_t start = 0;; start = text.find('\n', start) + 1) {
    const std::string_view line = text.substr(start, text.find('\n', start) - start);
    const bool separator = line == "\x1e";
    if (!separator) document.append(started ? "\n" : "").append(line);
    started = !separator;
    const bool last = start + line.size() == text.size();
    if ((separator || last) && !document.empty()) documents.push_back(std::move(document));
    if (separator || last) document.clear();
    if (last) return documents;
  }
}

}  // namespace

std::vector<LabelledText> load_text_set(const std::vector<std::filesystem::path>& files) {
  if (files.empty()) throw EngineError("no text files given");
  std::vector<LabelledText> out;
  for (const auto& file : files) {
    LabelledText entry{file.stem().string(), split_documents(read_text_file(file))};
    if (entry.documents.empty()) throw EngineError(file.string() + ": the file holds no text");
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<std::filesystem::path> text_files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec) && entry.path().extension() == ".txt")
      files.push_back(entry.path());
  if (ec) throw EngineError(dir.string() + ": cannot list the folder: " + ec.message());
  if (files.empty()) throw EngineError(dir.string() + ": no .txt files in the folder");
  std::sort(files.begin(), files.end());
  return files;
}

std::filesystem::path default_text_set_dir() {
  return MOESCOPE_HELDOUT_DIR;
}

}  // namespace moescope
