#include "cli/cli_common.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>

#include "model/default_model.h"

namespace moescope::cli {

void add_model_options(CLI::App& command, ModelOptions& options) {
  command.add_option("--model", options.model_dir, "Hugging Face model directory")
      ->default_str(default_model_dir().string());
  command.add_option("--backend", options.backend, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
}

CLI::Validator number_in(double min, double max, bool min_included, const std::string& shown) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);  // reads "nan" and "inf" too
        if (text.empty() || *end != '\0') return "'" + text + "' is not a number";
        const bool ok = std::isfinite(v) && (min_included ? v >= min : v > min) && v <= max;
        return ok ? std::string() : text + " is not in " + shown;
      },
      shown);
}

CLI::Validator whole_number_in(long long min, long long max) {
  const std::string shown = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        long long v = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
        const bool digits = !text.empty() && end == text.data() + text.size();
        if (!digits) return "'" + text + "' is not a whole number";
        return error == std::errc() && v >= min && v <= max ? std::string()
                                                            : text + " is not in " + shown;
      },
      shown);
}

void add_sampling_options(CLI::App& command, SamplingSettings& sampling,
                          const std::string& max_tokens_help) {
  command.add_option("--max-tokens", sampling.max_tokens, max_tokens_help)
      ->capture_default_str()
      ->check(whole_number_in(0, 1'000'000'000));
  command.add_option("--seed", sampling.seed, "Sampling seed")
      ->capture_default_str()
      ->check(whole_number_in(0, std::numeric_limits<long long>::max()));  // -1 would wrap
  command.add_option("--temperature", sampling.temperature, "0 = greedy")
      ->capture_default_str()
      ->check(number_in(0, 1e6, true, "[0, 1e6]"));
  command.add_option("--top-p", sampling.top_p, "Nucleus sampling mass")
      ->capture_default_str()
      ->check(number_in(0, 1, false, "(0, 1]"));
}

CLI::Option* add_system_prompt_option(CLI::App& command, std::string& system_prompt) {
  return command.add_option("--system", system_prompt,
                            "A system message opening the conversation (if the template has "
                            "a system role)");
}

std::filesystem::path model_path(const ModelOptions& options) {
  return options.model_dir.empty() ? default_model_dir() : std::filesystem::path(options.model_dir);
}

std::unique_ptr<Model> load_model(const ModelOptions& options) {
  return Model::load(model_path(options));
}

BackendSelection load_backend(const Model& model, const ModelOptions& options) {
  BackendSelection selection = make_backend(model, parse_backend_choice(options.backend));
  std::cerr << "backend: " << selection.backend->name() << " (" << selection.reason << ")\n";
  return selection;
}

namespace {

// "1.50 GiB": divides by `base` until the value fits the unit.
template <std::size_t N>
std::string with_unit(double value, double base, const char* const (&units)[N]) {
  std::size_t unit = 0;
  while (value >= base && unit + 1 < N) value /= base, ++unit;
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f%s" : "%.2f%s", value, units[unit]);
  return text;
}

}  // namespace

std::string format_bytes(std::int64_t bytes) {
  static const char* const units[] = {" B", " KiB", " MiB", " GiB", " TiB"};
  return with_unit(double(bytes), 1024.0, units);
}

std::string format_count(std::int64_t count) {
  static const char* const units[] = {"", " K", " M", " B"};
  return with_unit(double(count), 1000.0, units);
}

}  // namespace moescope::cli
