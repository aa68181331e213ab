#include "document/routing_document.h"

RoutingDocument::RoutingDocument(QObject* parent) : QObject(parent) {}

std::vector<int> RoutingDocument::moeLayers() const {
  return config_.moe_layers();
}

void RoutingDocument::reset(moescope::RoutingSnapshot snapshot) {
  config_ = moescope::parse_model_config(snapshot.model_config.dump(), snapshot.model_name);
  snapshot_ = std::move(snapshot);
  selectedToken_ = -1;
  const auto layers = moeLayers();
  if (std::find(layers.begin(), layers.end(), focusLayer_) == layers.end())
    focusLayer_ = layers.empty() ? -1 : layers.front();
  emit documentReset();
}

void RoutingDocument::appendTokens(std::vector<moescope::SnapshotToken> tokens) {
  if (tokens.empty()) return;
  const int first = tokenCount();
  for (auto& token : tokens) {
    if (!token.routing.is_prompt) snapshot_.generated_text += token.text;
    snapshot_.tokens.push_back(std::move(token));
  }
  emit tokensAppended(first, tokenCount() - first);
}

void RoutingDocument::setComparison(moescope::SnapshotComparison comparison) {
  snapshot_.comparison = std::move(comparison);
}

void RoutingDocument::clear() {
  snapshot_ = {};
  config_ = {};
  selectedToken_ = focusLayer_ = -1;
  emit documentReset();
}

void RoutingDocument::setSelectedToken(int index) {
  if (index == selectedToken_ || index < -1 || index >= tokenCount()) return;
  selectedToken_ = index;
  emit selectedTokenChanged(index);
}

void RoutingDocument::setFocusLayer(int layer) {
  if (layer == focusLayer_) return;
  focusLayer_ = layer;
  emit focusLayerChanged(layer);
}
