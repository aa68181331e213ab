#include "cli_common.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

namespace moescope::cli {

void add_model_options(CLI::App& command, ModelOptions& options) {
  command.add_option("--model", options.model_dir, "Hugging Face model directory")
      ->default_str(default_model_dir().string());
  command.add_option("--backend", options.backend, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
}

std::filesystem::path default_model_dir() {
  const std::filesystem::path bundled =
      std::filesystem::path(MOESCOPE_RESOURCES_DIR) / "models" / "deepseekmoe-tiny";
  if (std::filesystem::exists(bundled / "config.json")) return bundled;
  return std::filesystem::path(MOESCOPE_FIXTURES_DIR) / "models" / "dense-lead-f32";
}

std::unique_ptr<Model> load_model(const ModelOptions& options) {
  return Model::load(options.model_dir.empty() ? default_model_dir()
                                               : std::filesystem::path(options.model_dir));
}

BackendSelection load_backend(const Model& model, const ModelOptions& options) {
  BackendSelection selection = make_backend(model, parse_backend_choice(options.backend));
  std::cerr << "backend: " << selection.backend->name() << " (" << selection.reason << ")\n";
  return selection;
}

std::string format_bytes(std::int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = double(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) value /= 1024.0, ++unit;
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.2f %s", value, units[unit]);
  return text;
}

std::string format_count(std::int64_t count) {
  const char* units[] = {"", " K", " M", " B"};
  double value = double(count);
  int unit = 0;
  while (value >= 1000.0 && unit < 3) value /= 1000.0, ++unit;
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f%s" : "%.2f%s", value, units[unit]);
  return text;
}

}  // namespace moescope::cli
