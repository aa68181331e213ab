// A model folder's model.safetensors.index.json: any bytes, beside two small valid shards
// (a.safetensors: "a" F32 [2]; b.safetensors: "b" F16 [3]), give the archive the model
// loader opens or an EngineError; every tensor it indexes is read to its end.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "fuzz_files.h"
#include "fuzz_tensors.h"
#include "model/safetensors.h"

namespace {

// A safetensors file: the 8-byte little-endian header length, the header, the data.
void write_shard(const std::filesystem::path& path, const std::string& header,
                 const std::string& bytes) {
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  file += header + bytes;
  moescope::fuzz::write_file(path, file.data(), file.size());
}

std::filesystem::path model_dir() {
  const auto dir = moescope::fuzz::scratch_dir("fuzz_safetensors_index");
  write_shard(dir / "a.safetensors", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
              std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8));
  write_shard(dir / "b.safetensors", R"({"b":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}})",
              std::string("\x00\x3c\x00\x40\x00\x42", 6));
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path dir = model_dir();
  moescope::fuzz::write_file(dir / "model.safetensors.index.json", data, size);
  try {
    const moescope::SafetensorsArchive archive(dir);
    moescope::fuzz::read_every_view_to_its_end(archive.tensors());
    for (const auto& [name, view] : archive.tensors()) (void)archive.source_of(name);
  } catch (const moescope::EngineError&) {
  }
  return 0;
}
