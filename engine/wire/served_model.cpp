#include "wire/served_model.h"

#include "core/error.h"
#include "core/json.h"
#include "core/path_status.h"

namespace moescope {

namespace fs = std::filesystem;

ServedModel load_served_model(const fs::path& config, std::string name) {
  ServedModel out;
  out.name = std::move(name);
  const bool folder = fs::is_directory(path_status(config));
  out.config_path = folder ? config / "config.json" : config;
  out.config_json = read_json_file(out.config_path);
  out.config = parse_model_config(out.config_json.dump(), out.config_path.string());
  if (out.config.n_routed_experts == 0)
    throw EngineError(out.config_path.string() + ": a dense model; it routes to no experts");
  const fs::path dir =
      out.config_path.parent_path().empty() ? fs::path(".") : out.config_path.parent_path();
  if (path_exists(dir / "tokenizer.json") || path_exists(dir / "tokenizer.model"))
    out.tokenizer = load_tokenizer(dir);
  return out;
}

}  // namespace moescope
