#pragma once
// llama.cpp's tensor names ("blk.N.attn_q.weight") of the Hugging Face names the
// checkpoint binder asks for ("model.layers.N.self_attn.q_proj.weight"): the GGUF
// reader binds by them, the GGUF writer (gguf_export.h) names by them.
#include <optional>
#include <string>
#include <string_view>

#include "model/config.h"

namespace moescope {

// llama.cpp's architectures that are the engine's families (convert_hf_to_gguf.py:
// DeepseekModel, LlamaModel for Mixtral, Qwen2MoeModel, OlmoeModel). Its converter
// permutes q and k rows for the architectures whose RoPE it runs interleaved. The reader
// finds them by name, the writer by family; nullptr for any other.
struct GgufArchitecture {
  const char* name;
  Family family;
  const char* model_type;
  const char* hf_architecture;
  bool rope_permuted;
};
const GgufArchitecture* gguf_architecture_named(std::string_view name);
const GgufArchitecture* gguf_architecture_of(Family family);

struct GgufName {
  std::string name;
  int expert = -1;             // a routed expert: a slice of the stacked `name`
  bool rope_permuted = false;  // attn_q / attn_k: rows permuted by the converter
};

// nullopt for a name llama.cpp's deepseek, llama, qwen2moe and olmoe layouts have no
// tensor for.
std::optional<GgufName> gguf_name_of(const std::string& hf);

}  // namespace moescope
