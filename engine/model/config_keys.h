#pragma once
// Every config.json key a family's checkpoints carry, and what the engine does
// with it: honoured (read, and it shapes the model), ignored (it cannot change
// the forward pass, and why), or refused (not implemented). A key in no table
// is reported as not understood; one whose name says it shapes the forward pass
// is refused, so an unknown model variant never loads as a plausible wrong one.
#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"

namespace moescope {

enum class KeyHandling { honoured, ignored, refused };

struct ConfigKey {
  const char* name;
  KeyHandling handling;
  const char* note;  // honoured: what it sets or which values; ignored / refused: why
};

// The family's keys and the keys every Hugging Face config shares, in table order.
std::vector<ConfigKey> config_keys(Family family);
const ConfigKey* find_config_key(Family family, std::string_view name);

// Whether an unknown key's name says it changes the math (rope, attention, norm, expert, ...).
bool name_shapes_forward_pass(std::string_view name);

// The tables as Markdown, one per family, for docs/FAMILIES.md.
std::string config_key_tables_markdown();

}  // namespace moescope
