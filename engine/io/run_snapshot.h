#pragma once
// A snapshot of one generation run, ready for write_snapshot().
#include "io/snapshot.h"
#include "model/model.h"
#include "run/generator.h"

namespace moescope {

RoutingSnapshot make_run_snapshot(const Model& model, const std::string& backend_name,
                                  const GenerationRequest& request, const GenerationResult& result);

}  // namespace moescope
