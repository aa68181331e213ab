#include "views/routing_shift.h"

#include <QCoreApplication>
#include <QStringList>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "document/token_format.h"

namespace RoutingShift {
namespace {

QString tr(const char* text) {
  return QCoreApplication::translate("RoutingShift", text);
}

std::vector<double> shares(const std::vector<moescope::SnapshotToken>& tokens, int layer,
                           int experts) {
  std::vector<double> counts(experts, 0.0);
  double total = 0.0;
  for (const auto& token : tokens)
    if (const auto* routing = TokenFormat::findLayer(token.routing, layer))
      for (int e : routing->expert_ids)
        if (e >= 0 && e < experts) counts[e] += 1.0, total += 1.0;
  if (total > 0)
    for (double& c : counts) c /= total;
  return counts;
}

QString points(double change) {
  return QStringLiteral("%1%2 pts")
      .arg(change >= 0 ? QStringLiteral("+") : QString())
      .arg(change * 100, 0, 'f', 1);
}

}  // namespace

std::vector<Layer> perLayer(const std::vector<moescope::SnapshotToken>& baseline,
                            const std::vector<moescope::SnapshotToken>& intervened,
                            const moescope::Interventions& interventions,
                            const std::vector<int>& moeLayers, int experts) {
  std::vector<Layer> layers;
  for (int layer : moeLayers) {
    Layer shift;
    shift.layer = layer;
    shift.before = shares(baseline, layer, experts);
    shift.after = shares(intervened, layer, experts);
    for (int e = 0; e < experts; ++e)
      if (interventions.expert_disabled(layer, e)) shift.switchedOff.push_back(e);
    layers.push_back(std::move(shift));
  }
  return layers;
}

QString describe(const Layer& layer, int shown) {
  const int experts = int(layer.before.size());
  std::vector<int> order(experts);
  std::iota(order.begin(), order.end(), 0);
  const auto change = [&](int e) { return layer.after[e] - layer.before[e]; };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return layer.switchedOff.empty() ? std::abs(change(a)) > std::abs(change(b))
                                     : change(a) > change(b);
  });
  QStringList moved;
  for (int e : order) {
    if (int(moved.size()) == shown || std::abs(change(e)) < 0.0005) break;
    if (!layer.switchedOff.empty() && change(e) <= 0) break;
    moved << QStringLiteral("e%1 %2").arg(e).arg(points(change(e)));
  }
  const QString where = moved.isEmpty() ? tr("no expert's share moved") : moved.join(", ");
  if (layer.switchedOff.empty())
    return tr("L%1 · nothing off here · %2").arg(layer.layer).arg(where);
  QStringList off;
  double had = 0.0;
  for (int e : layer.switchedOff) {
    off << QStringLiteral("e%1").arg(e);
    had += layer.before[e];
  }
  return tr("L%1 · off: %2 (had %3% of the choices) → %4")
      .arg(layer.layer)
      .arg(off.join(", "))
      .arg(had * 100, 0, 'f', 1)
      .arg(where);
}

}  // namespace RoutingShift
