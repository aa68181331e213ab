#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "core/error.h"
#include "model/model_info.h"

namespace moescope::cli {
namespace {

struct BenchOptions {
  ModelOptions model;
  int prompt_tokens = 16;
  int gen_tokens = 32;
  int repeats = 5;
};

struct RunTimes {
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// One run: a fixed pseudo-random prompt, then greedy decoding with routing
// captured, as the app does.
RunTimes run_once(Backend& backend, const ModelConfig& c, const BenchOptions& o) {
  using clock = std::chrono::steady_clock;
  std::mt19937 rng(1234);
  const Interventions none;
  TokenRouting trace;
  backend.reset();
  RunTimes t;
  auto start = clock::now();
  std::span<const float> logits;
  for (int pos = 0; pos < o.prompt_tokens; ++pos)
    logits = backend.forward(int(rng() % c.vocab_size), pos, none, &trace);
  t.prefill_seconds = std::chrono::duration<double>(clock::now() - start).count();
  start = clock::now();
  for (int i = 0; i < o.gen_tokens; ++i) {
    const int next = int(std::max_element(logits.begin(), logits.end()) - logits.begin());
    logits = backend.forward(next, o.prompt_tokens + i, none, &trace);
  }
  t.decode_seconds = std::chrono::duration<double>(clock::now() - start).count();
  return t;
}

void run_bench(const BenchOptions& o) {
  const auto model = load_model(o.model);
  const ModelConfig& c = model->config();
  if (o.prompt_tokens + o.gen_tokens > c.max_position_embeddings)
    throw EngineError("--prompt-tokens + --gen-tokens exceed the context of " +
                      std::to_string(c.max_position_embeddings));
  BackendSelection selection = load_backend(*model, o.model);
  run_once(*selection.backend, c, o);  // warm-up: page the weights in
  std::vector<double> prefill, decode;
  for (int r = 0; r < o.repeats; ++r) {
    const RunTimes t = run_once(*selection.backend, c, o);
    prefill.push_back(o.prompt_tokens / t.prefill_seconds);
    decode.push_back(o.gen_tokens / t.decode_seconds);
  }
  const double decode_rate = median(decode);
  const std::int64_t bytes = weight_bytes_per_token(c, dtype_size(model->weights().embed.dtype));
  std::printf("model %s on %s, %d prompt + %d generated tokens, median of %d runs\n",
              model->name().c_str(), selection.backend->name().c_str(), o.prompt_tokens,
              o.gen_tokens, o.repeats);
  std::printf("prefill: %10.1f tokens/s (min %.1f, max %.1f)\n", median(prefill),
              *std::min_element(prefill.begin(), prefill.end()),
              *std::max_element(prefill.begin(), prefill.end()));
  std::printf("decode:  %10.1f tokens/s (min %.1f, max %.1f)\n", decode_rate,
              *std::min_element(decode.begin(), decode.end()),
              *std::max_element(decode.begin(), decode.end()));
  std::printf("weights read per decoded token: %s, i.e. %.2f GB/s\n", format_bytes(bytes).c_str(),
              bytes * decode_rate / 1e9);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* c = app.add_subcommand("bench", "Measure prefill and decode speed");
  add_model_options(*c, o->model);
  c->add_option("--prompt-tokens", o->prompt_tokens)->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--gen-tokens", o->gen_tokens)->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--repeats", o->repeats)->capture_default_str()->check(CLI::PositiveNumber);
  c->callback([o] { run_bench(*o); });
}

}  // namespace moescope::cli
