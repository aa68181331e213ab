#pragma once
// llama.cpp's tensor names ("blk.N.attn_q.weight") of the Hugging Face names the
// checkpoint binder asks for ("model.layers.N.self_attn.q_proj.weight"): the GGUF
// reader binds by them, the GGUF writer (gguf_export.h) names by them.
#include <optional>
#include <string>

namespace moescope {

struct GgufName {
  std::string name;
  int expert = -1;             // a routed expert: a slice of the stacked `name`
  bool rope_permuted = false;  // attn_q / attn_k: rows permuted by the converter
};

// nullopt for a name llama.cpp's deepseek, llama, qwen2moe and olmoe layouts have no
// tensor for.
std::optional<GgufName> gguf_name_of(const std::string& hf);

}  // namespace moescope
