#include "analysis/text_set.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace moescope {

namespace {

std::vector<std::string> split_documents(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  static const std::string separator = "\n\x1e\n";
  std::vector<std::string> documents;
  for (std::size_t start = 0;;) {
    const std::size_t end = std::min(text.find(separator, start), text.size());
    if (end > start) documents.push_back(text.substr(start, end - start));
    if (end == text.size()) return documents;
    start = end + separator.size();
  }
}

}  // namespace

std::vector<LabelledText> load_text_set(const std::vector<std::filesystem::path>& files) {
  if (files.empty()) throw EngineError("no text files given");
  std::vector<LabelledText> out;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw EngineError(file.string() + ": cannot open the text file");
    std::ostringstream text;
    text << in.rdbuf();
    LabelledText entry{file.stem().string(), split_documents(text.str())};
    if (entry.documents.empty()) throw EngineError(file.string() + ": the file holds no text");
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<std::filesystem::path> text_files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".txt")
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
