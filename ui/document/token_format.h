#pragma once
// Small helpers every token view shares: how a token piece is shown, how its
// routing at one layer is found, and the routing tooltip.
#include <QString>
#include <string>
#include <vector>

#include "io/snapshot.h"
#include "run/routing.h"

namespace TokenFormat {

// The piece as drawn: tabs and newlines as visible marks (the caller breaks
// the line after a newline), an all-space piece as middle dots.
QString displayText(const std::string& piece);

// The token's label on a chip or axis: displayText, or for a piece with no text
// of its own a name: "⟨BOS⟩" for the start marker, "⟨id 1234⟩" for the
// bytes of a character that a later token completes (byte fallback).
QString chipText(const moescope::SnapshotToken& token);

// What kind of piece a table row holds, so that an empty field never reads
// as missing data: "text", "special" (the start marker, no text of its own)
// or "byte" (bytes of a character that a later token completes).
enum class PieceKind { text, special, byte };
PieceKind kindOf(const moescope::SnapshotToken& token);
QString kindName(PieceKind kind);

bool endsLine(const std::string& piece);  // the piece contains a newline

// The record of `layer` in the token's trace, or nullptr (dense layer, no trace).
const moescope::LayerRouting* findLayer(const moescope::TokenRouting& routing, int layer);

// A gate weight in two significant digits: 0.31, but also 0.027 for 64 experts.
QString weightText(float weight);

// Rich-text tooltip: the piece, id, position, prompt/generated and each MoE
// layer's chosen experts with gate weights.
QString routingTooltip(const std::string& piece, const moescope::TokenRouting& routing);

}  // namespace TokenFormat
