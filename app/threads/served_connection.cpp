#include "threads/served_connection.h"

#include <filesystem>

#include "core/error.h"

namespace fs = std::filesystem;

moescope::ServerConnection connectionOf(const ServerJob& job) {
  moescope::ServerConnection server;
  server.url = job.url.trimmed().toStdString();
  if (job.engine == QLatin1String("sglang"))
    server.engine = moescope::ServerEngine::sglang;
  else if (job.engine == QLatin1String("vllm"))
    server.engine = moescope::ServerEngine::vllm;
  else
    throw moescope::EngineError("unknown serving engine \"" + job.engine.toStdString() +
                                "\" (known: vllm, sglang)");
  server.api_key = job.apiKey.toStdString();
  return server;
}

moescope::ServedModel servedModelOf(const ServerJob& job) {
  if (job.configPath.isEmpty())
    throw moescope::EngineError(
        "a served model needs its config.json (the server does not send the architecture)");
  moescope::ServedModel model = moescope::load_served_model(fs::path(job.configPath.toStdString()),
                                                            job.model.trimmed().toStdString());
  if (!job.tokenizerPath.isEmpty()) {
    const fs::path path = job.tokenizerPath.toStdString();
    model.tokenizer = moescope::load_tokenizer(fs::is_directory(path) ? path : path.parent_path());
  }
  return model;
}

void throwWithoutLibcurl() {
  throw moescope::EngineError(
      "this build of moescope has no served models: it was built without libcurl");
}
