#pragma once
// A model from one GGUF file (llama.cpp's checkpoints): the architecture's metadata
// mapped onto ModelConfig, the tensors bound by the same names and shape checks as a
// safetensors checkpoint's (model/model.h), still inside the map. docs/FAMILIES.md
// lists the architectures and keys read.
#include <filesystem>
#include <memory>

#include "model/model.h"

namespace moescope {

// Throws EngineError naming the file and the key or tensor on any problem. The model's
// dir() is the folder holding the file: the tokenizer is read from there.
std::unique_ptr<Model> load_gguf_model(const std::filesystem::path& file,
                                       const LoadProgress& progress = {});

}  // namespace moescope
