#pragma once
// moescope-cli's subcommands. Each registers its options and its action.
namespace CLI {
class App;
}

namespace moescope::cli {

void add_info_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_experiment_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_routing_file_commands(CLI::App& app);  // import-routing, export-routing

}  // namespace moescope::cli
