#pragma once
// What a ServerJob names, as engine/remote takes it: the connection (URL, engine,
// key) and the served model (config.json, tokenizer). For the served workers.
#include "jobs/server_job.h"
#include "remote/served_generation.h"
#include "wire/served_model.h"

// Throws EngineError for an engine other than vllm or sglang.
moescope::ServerConnection connectionOf(const ServerJob& job);
// Throws EngineError naming the file (a missing or broken config.json or tokenizer).
moescope::ServedModel servedModelOf(const ServerJob& job);
// What a build without libcurl says when asked for a served model.
[[noreturn]] void throwWithoutLibcurl();
