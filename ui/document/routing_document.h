#pragma once
// The routing of one run — live from the engine or opened from a snapshot —
// shared by every panel. Panels read it and listen to its signals; only the
// main window's wiring writes to it, always on the GUI thread.
#include <QObject>
#include <algorithm>
#include <vector>

#include "io/snapshot.h"
#include "model/config.h"

class RoutingDocument : public QObject {
  Q_OBJECT

 public:
  explicit RoutingDocument(QObject* parent = nullptr);

  // The snapshot's header (model, prompt, settings, interventions) and the
  // tokens so far. config() is parsed from snapshot().model_config.
  const moescope::RoutingSnapshot& snapshot() const { return snapshot_; }
  const moescope::ModelConfig& config() const { return config_; }
  bool isEmpty() const { return snapshot_.tokens.empty(); }
  int tokenCount() const { return int(snapshot_.tokens.size()); }
  std::vector<int> moeLayers() const;  // MoE layer indices of config()

  // Starts over with a new header (tokens in it are kept). Throws
  // moescope::EngineError if its model_config does not parse.
  void reset(moescope::RoutingSnapshot snapshot);
  void appendTokens(std::vector<moescope::SnapshotToken> tokens);
  // The baseline beside this run, once "Compare with experts off" has both.
  void setComparison(moescope::SnapshotComparison comparison);
  void clear();

  int selectedToken() const { return selectedToken_; }  // -1 when none
  void setSelectedToken(int index);
  int focusLayer() const {
    return focusLayer_;
  }  // the layer colouring tokens and token×expert views
  void setFocusLayer(int layer);

 signals:
  void documentReset();
  void tokensAppended(int first, int count);
  void selectedTokenChanged(int index);
  void focusLayerChanged(int layer);

 private:
  moescope::RoutingSnapshot snapshot_;
  moescope::ModelConfig config_;
  int selectedToken_ = -1;
  int focusLayer_ = -1;
};
