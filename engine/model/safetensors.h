#pragma once
// Memory-mapped safetensors checkpoints: one file, several files, or an
// index json. Headers are validated completely at open; tensors stay in the map.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/mapped_file.h"
#include "model/tensor_view.h"

namespace moescope {

// One mapped .safetensors file. Throws EngineError naming the file and the
// problem on: short file, header length beyond the file, header not JSON,
// duplicate tensor names, unknown dtype, offsets out of range or overlapping,
// byte sizes that disagree with shape x dtype size.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  std::size_t mapped_bytes() const { return map_.size(); }

 private:
  std::filesystem::path path_;
  MappedFile map_;
  std::map<std::string, TensorView> tensors_;
  // Copies of tensors whose bytes in the file are not aligned to their element size
  // (typed reads of them would be undefined behaviour); hub files need none.
  std::vector<std::vector<double>> aligned_copies_;
};

// All tensors of a model directory: `model.safetensors.index.json` if present
// (every file it names must exist and hold the tensors it claims), otherwise
// every `*.safetensors` file in the directory. A name found twice is an error.
class SafetensorsArchive {
 public:
  explicit SafetensorsArchive(const std::filesystem::path& model_dir);

  // Throws EngineError if the tensor is missing.
  const TensorView& get(const std::string& name) const;
  const TensorView* find(const std::string& name) const;
  const std::map<std::string, const TensorView*>& tensors() const { return index_; }
  std::size_t mapped_bytes() const;
  // Where a tensor comes from, for messages ("model-00002.safetensors").
  std::string source_of(const std::string& name) const;

 private:
  void add_file(const std::filesystem::path& path);  // maps it and indexes its tensors

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> index_;
  std::map<std::string, const SafetensorsFile*> owner_;
};

}  // namespace moescope
