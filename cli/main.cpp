// moescope-cli: the engine from a terminal — model facts, generation with a
// routing summary and snapshots, benchmarks, the papers' experiments, and a
// check against reference runs.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"moescope-cli: explore Mixture-of-Experts language models"};
  app.require_subcommand(1);
  moescope::cli::add_info_command(app);
  moescope::cli::add_generate_command(app);
  moescope::cli::add_chat_command(app);
  moescope::cli::add_bench_command(app);
  moescope::cli::add_experiment_command(app);
  moescope::cli::add_check_command(app);
  moescope::cli::add_quantize_command(app);
  moescope::cli::add_routing_file_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const moescope::EngineError& e) {
    std::cerr << "moescope-cli: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "moescope-cli: unexpected error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
