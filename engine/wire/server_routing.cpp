#include "wire/server_routing.h"

#include "core/error.h"

namespace moescope {

std::vector<TokenRouting> routing_from_server(const RoutedExperts& experts,
                                              const std::vector<int>& token_ids, int prompt_tokens,
                                              const ModelConfig& config, const std::string& field) {
  const std::vector<int> moe_layers = config.moe_layers();
  const int n_moe = int(moe_layers.size());
  // No rows (a stream cut before its routing) leave no layer axis to tell.
  LayerAxis axis = LayerAxis::moe_layers;
  if (experts.tokens && experts.layers != n_moe) {
    if (experts.layers != config.num_hidden_layers)
      throw EngineError(field + ": " + std::to_string(experts.layers) +
                        " layers per token, but the model has " +
                        std::to_string(config.num_hidden_layers) + " layers, " +
                        std::to_string(n_moe) + " of them MoE (is --config the served model's?)");
    axis = LayerAxis::all_layers;
  }
  if (experts.tokens && experts.top_k != config.num_experts_per_tok)
    throw EngineError(field + ": " + std::to_string(experts.top_k) +
                      " experts per token and layer, but the model routes to " +
                      std::to_string(config.num_experts_per_tok));
  if (experts.tokens > int(token_ids.size()))
    throw EngineError(field + ": routing for " + std::to_string(experts.tokens) +
                      " tokens, but the response has " + std::to_string(token_ids.size()));

  std::vector<TokenRouting> out(token_ids.size());
  for (std::size_t t = 0; t < token_ids.size(); ++t) {
    out[t].position = int(t);
    out[t].token_id = token_ids[t];
    out[t].is_prompt = int(t) < prompt_tokens;
    if (int(t) >= experts.tokens) continue;
    for (int m = 0; m < n_moe; ++m) {
      const int row = axis == LayerAxis::moe_layers ? m : moe_layers[m];
      const std::string where = field + "[" + std::to_string(t) + "][" + std::to_string(row) + "]";
      LayerRouting layer;
      layer.layer = moe_layers[m];
      layer.detail = RoutingDetail::ids_only;
      int unknown = 0;
      for (int k = 0; k < experts.top_k; ++k) {
        const int id = experts.at(int(t), row, k);
        if (id == RoutedExperts::unknown) {
          ++unknown;
          continue;
        }
        if (id >= config.n_routed_experts)
          throw EngineError(where + ": expert " + std::to_string(id) + " out of range (" +
                            std::to_string(config.n_routed_experts) + " routed experts)");
        for (int earlier : layer.expert_ids)
          if (earlier == id)
            throw EngineError(where + ": expert " + std::to_string(id) + " chosen twice");
        layer.expert_ids.push_back(id);
      }
      if (unknown == experts.top_k) continue;  // a position the server did not record
      if (unknown) throw EngineError(where + ": some experts unknown (-1) and some not");
      out[t].layers.push_back(std::move(layer));
    }
    if (!out[t].layers.empty() && int(out[t].layers.size()) != n_moe)
      throw EngineError(field + "[" + std::to_string(t) +
                        "]: unknown (-1) in some MoE layers and not in others");
  }
  return out;
}

RoutedExperts routed_experts_from_routing(const std::vector<TokenRouting>& tokens,
                                          const ModelConfig& config, LayerAxis axis) {
  const std::vector<int> moe_layers = config.moe_layers();
  RoutedExperts out;
  out.tokens = int(tokens.size());
  out.layers = axis == LayerAxis::moe_layers ? int(moe_layers.size()) : config.num_hidden_layers;
  out.top_k = config.num_experts_per_tok;
  out.ids.assign(std::size_t(out.tokens) * out.layers * out.top_k, 0);
  for (int t = 0; t < out.tokens; ++t) {
    const auto row_of = [&](std::size_t m) {
      return axis == LayerAxis::moe_layers ? int(m) : moe_layers[m];
    };
    for (std::size_t m = 0; m < moe_layers.size(); ++m)
      for (int k = 0; k < out.top_k; ++k)
        out.ids[(std::size_t(t) * out.layers + row_of(m)) * out.top_k + k] = RoutedExperts::unknown;
    for (const LayerRouting& layer : tokens[t].layers) {
      std::size_t m = 0;
      while (m < moe_layers.size() && moe_layers[m] != layer.layer) ++m;
      if (m == moe_layers.size() || int(layer.expert_ids.size()) != out.top_k)
        throw EngineError("layer " + std::to_string(layer.layer) + " of token " +
                          std::to_string(t) +
                          ": a server sends the model's own top-k of every MoE layer; this run "
                          "changed the routing (a k override?) and cannot be written so");
      for (int k = 0; k < out.top_k; ++k)
        out.ids[(std::size_t(t) * out.layers + row_of(m)) * out.top_k + k] = layer.expert_ids[k];
    }
  }
  return out;
}

}  // namespace moescope
