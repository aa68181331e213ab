#include "io/run_snapshot.h"

namespace moescope {

RoutingSnapshot make_run_snapshot(const Model& model, const std::string& backend_name,
                                  const GenerationRequest& request, const GenerationResult& result) {
  RoutingSnapshot s;
  s.model_name = model.name();
  s.model_path = std::filesystem::absolute(model.dir()).lexically_normal().string();
  s.model_config = nlohmann::json::parse(model.config_json());
  s.backend = backend_name;
  s.created_at = utc_timestamp_now();
  s.prompt = request.prompt;
  s.generated_text = result.generated_text;
  s.sampling = request.sampling;
  s.interventions = request.interventions;
  for (const GeneratedToken& token : result.tokens) s.tokens.push_back({token.text, token.routing});
  return s;
}

}  // namespace moescope
