// quantize: a model as a Q8_0, Q4_0, F16 or BF16 GGUF file (llama.cpp's deepseek layout, its
// tokenizer inside), which moescope and llama.cpp open.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/error.h"
#include "model/gguf_export.h"
#include "tokenizer/gguf_vocabulary.h"

namespace moescope::cli {
namespace {

struct QuantizeOptions {
  ModelOptions model;
  std::string type;
  std::string out;
};

void run_quantize(const QuantizeOptions& o) {
  const std::filesystem::path input = model_path(o.model), out = o.out;
  check_not_overwriting(input, out);
  const DType type = o.type == "Q8_0"   ? DType::q8_0
                     : o.type == "Q4_0" ? DType::q4_0
                     : o.type == "F16"  ? DType::f16
                                        : DType::bf16;
  const auto model = load_model(o.model);
  export_gguf_model(*model, type, gguf_tokenizer_metadata(input, model->config().family), out);
  std::cout << "wrote " << out.string() << ": " << o.type << ", "
            << format_bytes(std::int64_t(std::filesystem::file_size(out))) << " (from "
            << format_bytes(std::int64_t(model->mapped_bytes())) << " of " << model->weight_dtype()
            << ")\n";
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto options = std::make_shared<QuantizeOptions>();
  CLI::App* command = app.add_subcommand(
      "quantize", "Write the model as a quantized GGUF file (llama.cpp's deepseek layout)");
  add_model_options(*command, options->model);
  command
      ->add_option("--type", options->type,
                   "Format of the weight matrices (F16 and BF16: the same model unquantized, for "
                   "programs that read GGUF alone)")
      ->required()
      ->check(CLI::IsMember({"Q8_0", "Q4_0", "F16", "BF16"}));
  command->add_option("--out", options->out, "The .gguf file to write (never the input)")
      ->required();
  command->callback([options] { run_quantize(*options); });
}

}  // namespace moescope::cli
