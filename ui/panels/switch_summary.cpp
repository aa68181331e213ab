#include "panels/switch_summary.h"

#include <QCoreApplication>
#include <QStringList>
#include <set>

using moescope::Interventions;

namespace SwitchSummary {
namespace {

QString tr(const char* text) {
  return QCoreApplication::translate("SwitchSummary", text);
}

// "1 expert", "12 experts": the banner is read from the back of a room, no "(s)".
QString counted(int n, const char* one, const char* many) {
  return QStringLiteral("%1 %2").arg(n).arg(tr(n == 1 ? one : many));
}

QString numberList(const std::set<int>& numbers) {
  QStringList items;
  for (int n : numbers) items << QString::number(n);
  return items.join(QStringLiteral(", "));
}

}  // namespace

QString describe(const Interventions& interventions) {
  if (interventions.empty()) return tr("All experts on.");
  std::set<int> layers, everywhere;
  int perLayer = 0;
  for (const auto& [layer, expert] : interventions.disabled_experts) {
    if (layer == Interventions::all_layers) {
      everywhere.insert(expert);
    } else {
      layers.insert(layer);
      ++perLayer;
    }
  }
  QStringList parts;
  if (perLayer > 0)
    parts << tr("%1 off in %2")
                 .arg(counted(perLayer, "expert", "experts"),
                      counted(int(layers.size()), "layer", "layers"));
  if (!everywhere.empty())
    parts << (everywhere.size() == 1
                  ? tr("expert %1 off in every layer").arg(numberList(everywhere))
              : everywhere.size() <= 4
                  ? tr("experts %1 off in every layer").arg(numberList(everywhere))
                  : tr("%1 off in every layer")
                        .arg(counted(int(everywhere.size()), "expert", "experts")));
  const auto& shared = interventions.disabled_shared;
  if (shared.count(Interventions::all_layers))
    parts << tr("shared off in every layer");
  else if (!shared.empty())
    parts << tr(shared.size() == 1 ? "shared off in layer %1" : "shared off in layers %1")
                 .arg(numberList(shared));
  if (interventions.top_k) parts << tr("k = %1").arg(*interventions.top_k);
  if (interventions.select_without_bias) parts << tr("selecting without the bias");
  if (interventions.no_group_limit) parts << tr("no group limit");
  if (interventions.disable_top_scoring > 0)
    parts << tr("top %1 out of reach")
                 .arg(counted(interventions.disable_top_scoring, "scoring expert",
                              "scoring experts"));
  return parts.join(QStringLiteral(" · "));
}

int layersWithExpertOff(const Interventions& interventions, int expert) {
  int n = 0;
  for (const auto& [layer, e] : interventions.disabled_experts)
    n += e == expert && layer != Interventions::all_layers;
  return n;
}

}  // namespace SwitchSummary
