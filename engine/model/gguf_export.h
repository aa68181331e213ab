#pragma once
// A loaded model written as llama.cpp's GGUF (`deepseek`, `llama` for Mixtral, `qwen2moe`,
// `olmoe`: the layouts gguf_model.h reads and llama.cpp's convert_hf_to_gguf.py writes): what
// `moescope-cli quantize` makes. docs/FAMILIES.md lists the keys and tensors.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "model/dtype.h"
#include "model/gguf_writer.h"
#include "model/model.h"

namespace moescope {

// Writes `model` to `out`: every matrix in `weights` (F16, BF16, or Q8_0 / Q4_0 where
// its rows are whole 32-weight blocks, model/quantize.h), other matrices F16, norms and the router
// F32; q and k rows permuted into llama.cpp's interleaved RoPE order; each layer's routed
// experts stacked into ffn_{gate,up,down}_exps. `extra` (the tokenizer's tokenizer.ggml.*
// keys) follows the model's keys. The file appears whole or not at all. Throws
// EngineError: a family the `deepseek` architecture cannot hold (named), a weight that
// is not finite (named), `out` being one of the model's own files or a folder.
void export_gguf_model(const Model& model, DType weights, const GgufMetadata& extra,
                       const std::filesystem::path& out);

// Refuses (EngineError) an `out` that is `input` itself or, when `input` is a folder, one
// of its files: a quantized copy never replaces what it is made from.
void check_not_overwriting(const std::filesystem::path& input, const std::filesystem::path& out);

}  // namespace moescope
