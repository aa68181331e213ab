#include "model/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/error.h"
#include "core/json.h"
#include "core/path_status.h"

namespace moescope {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const fs::path& file, const std::string& problem) {
  throw EngineError(file.string() + ": " + problem);
}

std::string offsets_string(std::uint64_t begin, std::uint64_t end) {
  return '[' + std::to_string(begin) + ", " + std::to_string(end) + ']';
}

// The header JSON; a tensor name given twice is an error (json would keep only the last).
json parse_header_json(const fs::path& path, const char* begin, const char* end) {
  std::set<std::string> names;
  auto reject_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key &&
        !names.insert(parsed.get<std::string>()).second)
      fail(path, "header names tensor '" + parsed.get<std::string>() + "' twice");
    return true;
  };
  const json header = parse_json(std::string_view(begin, std::size_t(end - begin)),
                                 path.string() + ": header", reject_duplicates);
  if (!header.is_object()) fail(path, "header is not a JSON object");
  return header;
}

struct ParsedTensor {
  TensorView view;
  std::uint64_t begin, end;  // data_offsets
};

// Validates one header entry against a data section of `data_size` bytes.
ParsedTensor parse_tensor(const fs::path& path, const std::string& name, const json& entry,
                          const std::uint8_t* data, std::uint64_t data_size) {
  const std::string where = "tensor '" + name + "': ";
  if (!entry.is_object()) fail(path, where + "entry is not an object");
  auto field = [&](const char* key) -> const json& {
    if (!entry.contains(key)) fail(path, where + "missing \"" + key + "\"");
    return entry.at(key);
  };

  const json& dtype_json = field("dtype");
  if (!dtype_json.is_string()) fail(path, where + "\"dtype\" must be a string");
  const auto dtype_text = dtype_json.get<std::string>();
  const auto dtype = dtype_from_name(dtype_text);
  if (!dtype)
    fail(path, where + "unsupported dtype '" + dtype_text + "' (supported: F32, F16, BF16)");

  const json& shape_json = field("shape");
  if (!shape_json.is_array()) fail(path, where + "\"shape\" must be an array of integers");
  TensorView view{name, *dtype, {}, nullptr};
  std::uint64_t numel = 1;
  for (const json& dim : shape_json) {
    if (!dim.is_number_integer()) fail(path, where + "\"shape\" must be an array of integers");
    if (!dim.is_number_unsigned()) fail(path, where + "negative dimension " + dim.dump());
    const auto d = dim.get<std::uint64_t>();
    // numel() must not overflow later: bound the running product by int64.
    if (d > std::uint64_t(std::numeric_limits<std::int64_t>::max()) ||
        (d && numel > std::uint64_t(std::numeric_limits<std::int64_t>::max()) / d))
      fail(path, where + "shape " + shape_json.dump() + " is too large");
    numel *= d;
    view.shape.push_back(std::int64_t(d));
  }

  const json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    fail(path, where + "\"data_offsets\" must be two non-negative integers [begin, end]");
  const auto begin = offsets[0].get<std::uint64_t>();
  const auto end = offsets[1].get<std::uint64_t>();
  const std::string at = where + "data_offsets " + offsets_string(begin, end);
  if (begin > end) fail(path, at + " begin after end");
  if (end > data_size)
    fail(path, at + " end beyond data section (" + std::to_string(data_size) + " bytes)");
  const std::uint64_t bytes = numel * dtype_size(*dtype);  // <= 8 * int64 max: no overflow
  if (end - begin != bytes)
    fail(path, at + " hold " + std::to_string(end - begin) + " bytes, but shape " +
                   shape_string(view.shape) + " of " + dtype_text + " needs " +
                   std::to_string(bytes));
  view.data = data + begin;
  return {view, begin, end};
}

void check_metadata(const fs::path& path, const json& metadata) {
  if (!metadata.is_object()) fail(path, "\"__metadata__\" must be an object of strings");
  for (const auto& [key, value] : metadata.items())
    if (!value.is_string()) fail(path, "\"__metadata__\" entry '" + key + "' must be a string");
}

std::map<std::string, TensorView> parse_header(const fs::path& path, const std::uint8_t* bytes,
                                               std::size_t size) {
  std::uint64_t header_size = 0;  // little-endian u64
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > size - 8)
    fail(path, "header length " + std::to_string(header_size) + " beyond file size (" +
                   std::to_string(size) + " bytes)");
  const auto* text = reinterpret_cast<const char*>(bytes + 8);
  const json header = parse_header_json(path, text, text + header_size);

  const std::uint8_t* data = bytes + 8 + header_size;
  const std::uint64_t data_size = size - 8 - header_size;
  std::map<std::string, TensorView> tensors;
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> ranges;  // begin, end, name
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      check_metadata(path, entry);
      continue;
    }
    const ParsedTensor t = parse_tensor(path, name, entry, data, data_size);
    tensors.emplace(name, t.view);
    if (t.begin != t.end) ranges.emplace_back(t.begin, t.end, name);  // empty ones overlap nothing
  }

  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    const auto& [prev_begin, prev_end, prev_name] = ranges[i - 1];
    const auto& [begin, end, name] = ranges[i];
    if (begin < prev_end)
      fail(path, "tensor '" + name + "': data_offsets " + offsets_string(begin, end) +
                     " overlap tensor '" + prev_name + "' " + offsets_string(prev_begin, prev_end));
  }
  return tensors;
}

// The index's weight_map: tensor name -> file name (relative to the model directory).
std::map<std::string, std::string> read_weight_map(const fs::path& index_path) {
  const json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    fail(index_path, "missing \"weight_map\" object");
  std::map<std::string, std::string> weight_map;
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    if (!file.is_string())
      fail(index_path, "weight_map entry for tensor '" + tensor + "' must be a file name");
    const std::string name = file.get<std::string>();
    // Shards live beside the index: no paths, so no file outside the model folder is read.
    if (name.empty() || name == "." || name == ".." ||
        name.find_first_of(std::string("/\\\0", 3)) != std::string::npos)
      fail(index_path, "weight_map entry for tensor '" + tensor + "' names \"" + name +
                           "\"; a shard must be a plain file name inside the model folder");
    weight_map.emplace(tensor, name);
  }
  return weight_map;
}

std::vector<fs::path> safetensors_in(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec) && entry.path().extension() == ".safetensors")
      files.push_back(entry.path());
  if (ec) throw EngineError(dir.string() + ": cannot list the folder: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const fs::path& path) : path_(path), map_(path) {
  if (map_.size() < 8)
    fail(path, "file is " + std::to_string(map_.size()) +
                   " bytes, too short for the 8-byte header length");
  tensors_ = parse_header(path, map_.data(), map_.size());
  for (auto& [name, view] : tensors_) {
    const std::size_t bytes = std::size_t(view.numel()) * dtype_size(view.dtype);
    if (reinterpret_cast<std::uintptr_t>(view.data) % dtype_size(view.dtype) == 0) continue;
    auto& copy = aligned_copies_.emplace_back((bytes + sizeof(double) - 1) / sizeof(double));
    std::memcpy(copy.data(), view.data, bytes);
    view.data = copy.data();
  }
}

SafetensorsArchive::SafetensorsArchive(const fs::path& model_dir) : dir_(model_dir) {
  if (!fs::is_directory(path_status(model_dir)))
    throw EngineError(model_dir.string() + ": no such directory");
  const fs::path index_path = model_dir / "model.safetensors.index.json";
  if (!path_exists(index_path)) {
    for (const fs::path& file : safetensors_in(model_dir)) add_file(file);
    if (files_.empty()) throw EngineError(model_dir.string() + ": no *.safetensors files");
    return;
  }

  const auto weight_map = read_weight_map(index_path);
  std::set<std::string> file_names;
  for (const auto& [tensor, file] : weight_map) file_names.insert(file);
  for (const std::string& file : file_names) {
    if (!path_exists(model_dir / file))
      fail(index_path, "weight_map names missing file '" + file + "'");
    add_file(model_dir / file);
  }
  if (files_.empty()) fail(index_path, "weight_map is empty");
  for (const auto& [tensor, file] : weight_map) {
    const auto owner = owner_.find(tensor);
    if (owner == owner_.end() || owner->second->path() != model_dir / file)
      fail(index_path, "tensor '" + tensor + "' is not in '" + file + "', the file it maps to");
  }
}

void SafetensorsArchive::add_file(const fs::path& path) {
  files_.push_back(std::make_unique<SafetensorsFile>(path));
  const SafetensorsFile& file = *files_.back();
  for (const auto& [name, view] : file.tensors()) {
    const auto [it, inserted] = owner_.emplace(name, &file);
    if (!inserted)
      throw EngineError(dir_.string() + ": tensor '" + name + "' is in both " +
                        it->second->path().filename().string() + " and " +
                        file.path().filename().string());
    index_.emplace(name, &view);
  }
}

const TensorView* SafetensorsArchive::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

const TensorView& SafetensorsArchive::get(const std::string& name) const {
  if (const TensorView* view = find(name)) return *view;
  throw EngineError("tensor '" + name + "' not found in " + dir_.string());
}

std::size_t SafetensorsArchive::mapped_bytes() const {
  std::size_t total = 0;
  for (const auto& file : files_) total += file->mapped_bytes();
  return total;
}

std::string SafetensorsArchive::source_of(const std::string& name) const {
  get(name);  // throws if missing
  return owner_.at(name)->path().filename().string();
}

}  // namespace moescope
