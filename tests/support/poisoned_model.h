#pragma once
// A copy of a fixture model with one NaN or infinity written into one of its f32
// tensors: how the suites make a model whose activations stop being finite.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

// Copies every file of `model_dir` into `to` and overwrites the first element of
// `tensor` (F32) in its model.safetensors with `value`. False if that was not possible.
inline bool copy_poisoned_model(const std::filesystem::path& model_dir,
                                const std::filesystem::path& to, const std::string& tensor,
                                float value) {
  for (const auto& file : std::filesystem::directory_iterator(model_dir))
    std::filesystem::copy_file(file.path(), to / file.path().filename());
  std::fstream f(to / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
  std::uint64_t header_size = 0;
  f.read(reinterpret_cast<char*>(&header_size), 8);
  std::string header(header_size, '\0');
  f.read(header.data(), std::streamsize(header_size));
  const auto entry = nlohmann::json::parse(header).at(tensor);
  if (entry.at("dtype") != "F32") return false;
  f.seekp(std::streamoff(8 + header_size + entry.at("data_offsets").at(0).get<std::uint64_t>()));
  f.write(reinterpret_cast<const char*>(&value), sizeof value);
  return f.good();
}
