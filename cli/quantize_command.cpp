// quantize: a model as a Q8_0, Q4_0, F16 or BF16 GGUF file (llama.cpp's deepseek, llama, qwen2moe
// or olmoe layout; its tokenizer inside), which moescope and llama.cpp open.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/error.h"
#include "model/gguf_export.h"
#include "tokenizer/gguf_vocabulary.h"

namespace moescope::cli {
namespace {

// What --type offers, by dtype_name: the formats export_gguf_model writes.
constexpr std::array written_types = {DType::q8_0, DType::q4_0, DType::f16, DType::bf16};

struct QuantizeOptions {
  ModelOptions model;
  std::string type;
  std::string out;
};

void run_quantize(const QuantizeOptions& o) {
  const std::filesystem::path input = model_path(o.model), out = o.out;
  check_not_overwriting(input, out);
  const DType type = *std::find_if(written_types.begin(), written_types.end(),
                                   [&](DType t) { return dtype_name(t) == o.type; });
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
  CLI::App* command = app.add_subcommand("quantize",
                                         "Write the model as a GGUF file, quantized or not "
                                         "(llama.cpp's layout of its family)");
  add_model_options(*command, options->model);
  command
      ->add_option("--type", options->type,
                   "Format of the weight matrices (F16 and BF16: the same model unquantized, for "
                   "programs that read GGUF alone)")
      ->required()
      ->check(CLI::IsMember([] {
        std::vector<std::string> names;
        for (const DType t : written_types) names.emplace_back(dtype_name(t));
        return names;
      }()));
  command->add_option("--out", options->out, "The .gguf file to write (never the input)")
      ->required();
  command->callback([options] { run_quantize(*options); });
}

}  // namespace moescope::cli
