#pragma once
// Picks the compute backend. The only place that knows which backends this
// build has.
#include <memory>
#include <string>

#include "model/model.h"
#include "run/backend.h"

namespace moescope {

enum class BackendChoice { automatic, cpu, cuda };

BackendChoice parse_backend_choice(const std::string& text);  // "auto" | "cpu" | "cuda"

struct BackendSelection {
  std::unique_ptr<Backend> backend;
  std::string reason;  // why this backend, for the status line ("no CUDA in this build")
};

// Throws EngineError when the explicit choice cannot be honoured.
BackendSelection make_backend(const Model& model, BackendChoice choice);

}  // namespace moescope
