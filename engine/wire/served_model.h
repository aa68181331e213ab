#pragma once
// What moescope knows of a model it does not run: its architecture from a
// config.json (neither vLLM nor SGLang exposes the Hugging Face config over HTTP)
// and, when the folder holds one, its tokenizer for the token texts.
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "model/config.h"
#include "tokenizer/tokenizer.h"

namespace moescope {

struct ServedModel {
  std::string name;  // the name the server serves it under
  std::filesystem::path config_path;
  nlohmann::json config_json;  // as read, for snapshots
  ModelConfig config;
  std::unique_ptr<Tokenizer> tokenizer;  // null when the folder has none
};

// `config` is a config.json or a folder holding one (and perhaps tokenizer.json or
// tokenizer.model beside it). Throws EngineError naming the file; a model without
// routed experts is refused, since there would be no routing to show.
ServedModel load_served_model(const std::filesystem::path& config, std::string name);

}  // namespace moescope
