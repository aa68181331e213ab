#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "cli/cli_common.h"
#include "cli/commands.h"
#include "cli/model_source.h"
#include "model/model_info.h"

namespace moescope::cli {
namespace {

struct BenchOptions {
  ModelOptions model;
  RandomModelOptions random;
  int prompt_tokens = 16;
  int gen_tokens = 32;
  int repeats = 5;
  double bandwidth_gbps = 0.0;  // the memory's stated bandwidth; 0: not known
};

struct RunTimes {
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// One run: a fixed pseudo-random prompt in one batch, then greedy decoding, with
// routing captured as the app does.
RunTimes run_once(Backend& backend, const ModelConfig& c, const BenchOptions& o) {
  using clock = std::chrono::steady_clock;
  const std::vector<int> prompt = fixed_prompt(c, o.prompt_tokens);
  const Interventions none;
  std::vector<TokenRouting> prompt_traces(prompt.size());
  TokenRouting trace;
  backend.reset();
  RunTimes t;
  auto start = clock::now();
  std::span<const float> logits =
      backend.forward_batch(prompt, 0, none, prompt_traces, LogitsWanted::last);
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
  const auto model = load_model(o.model, o.random, o.prompt_tokens + o.gen_tokens);
  const ModelConfig& c = model->config();
  BackendSelection selection = load_backend(*model, o.model);
  run_once(*selection.backend, c, o);  // warm-up: page the weights in
  std::vector<double> prefill, decode;
  for (int r = 0; r < o.repeats; ++r) {
    const RunTimes t = run_once(*selection.backend, c, o);
    prefill.push_back(o.prompt_tokens / t.prefill_seconds);
    decode.push_back(o.gen_tokens / t.decode_seconds);
  }
  const double decode_rate = median(decode);
  const std::int64_t bytes = weight_bytes_per_token(c, model->weights());
  std::printf("model %s on %s, %d prompt tokens in one batch + %d generated, median of %d runs\n",
              model->name().c_str(), selection.backend->name().c_str(), o.prompt_tokens,
              o.gen_tokens, o.repeats);
  std::printf("prefill: %10.1f tokens/s (min %.1f, max %.1f)\n", median(prefill),
              *std::min_element(prefill.begin(), prefill.end()),
              *std::max_element(prefill.begin(), prefill.end()));
  std::printf("decode:  %10.1f tokens/s (min %.1f, max %.1f)\n", decode_rate,
              *std::min_element(decode.begin(), decode.end()),
              *std::max_element(decode.begin(), decode.end()));
  const double achieved_gbps = bytes * decode_rate / 1e9;
  std::printf("weights read per decoded token: %s of %s (%lld bytes), i.e. %.2f GB/s\n",
              format_bytes(bytes).c_str(), model->weight_dtype().c_str(),
              static_cast<long long>(bytes), achieved_gbps);
  if (o.bandwidth_gbps > 0)
    std::printf("bandwidth fraction: %.3f of %.1f GB/s\n", achieved_gbps / o.bandwidth_gbps,
                o.bandwidth_gbps);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* c = app.add_subcommand("bench", "Measure prefill and decode speed");
  add_model_options(*c, o->model);
  add_random_model_options(*c, o->random);
  // Bounded so that their sum stays an int; the model's context is checked at load.
  constexpr long long most_tokens = 1 << 22;
  c->add_option("--prompt-tokens", o->prompt_tokens)
      ->capture_default_str()
      ->check(whole_number_in(1, most_tokens));
  c->add_option("--gen-tokens", o->gen_tokens)
      ->capture_default_str()
      ->check(whole_number_in(1, most_tokens));
  c->add_option("--repeats", o->repeats)->capture_default_str()->check(whole_number_in(1, 1000));
  c->add_option("--bandwidth", o->bandwidth_gbps,
                "The memory's bandwidth in GB/s (measured, e.g. a device-to-device copy): "
                "prints the fraction of it that decoding reaches")
      ->check(number_in(0, 1e7, false, "(0, 1e7] GB/s"));
  c->callback([o] { run_bench(*o); });
}

}  // namespace moescope::cli
