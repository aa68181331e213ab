// The routing analyses: domain specialisation (DeepSeek-V3 Fig. 9, OLMoE),
// co-activation (OLMoE), locality (Mixtral Table 5) and vocabulary (OLMoE).
#include <algorithm>
#include <numeric>

#include "analysis/experiment_plans.h"
#include "analysis/routing_analysis.h"

namespace moescope::experiments {

namespace {

// The slots (indexes into TokenRouting::layers) an analysis covers.
std::vector<int> slots_for(const RoutingPass& pass, int layer, bool last_by_default) {
  std::vector<int> slots;
  for (int s = 0; s < static_cast<int>(pass.moe_layers.size()); ++s)
    if (pass.moe_layers[s] == layer || (layer < 0 && !last_by_default)) slots.push_back(s);
  if (slots.empty() && layer < 0) slots.push_back(static_cast<int>(pass.moe_layers.size()) - 1);
  return slots;
}

std::vector<TokenRouting> all_tokens(const RoutingPass& pass) {
  std::vector<TokenRouting> tokens;
  for (const LabelEvaluation& l : pass.evaluation.labels)
    tokens.insert(tokens.end(), l.routing.begin(), l.routing.end());
  return tokens;
}

std::string heading(const RoutingPass& pass, int slot) {
  return pass.model->name() + " · layer " + std::to_string(pass.moe_layers[slot]);
}

std::vector<std::string> numbered(const std::vector<int>& ids) {
  std::vector<std::string> out;
  for (int id : ids) out.push_back(std::to_string(id));
  return out;
}

// Experts ordered by how many tokens chose them, most used first.
std::vector<int> most_used(const std::vector<std::vector<long>>& counts, int how_many) {
  std::vector<int> order(counts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return counts[a][a] > counts[b][b]; });
  order.resize(std::min<std::size_t>(order.size(), how_many));
  return order;
}

// A display form of a token piece for plot labels: control characters and
// byte pieces spelled out, SentencePiece's word-start mark as a visible space.
std::string visible(const std::string& piece) {
  static const std::pair<std::string, std::string> spelled[] = {
      {"\n", "\\n"}, {"\t", "\\t"}, {"<0x0A>", "\\n"}, {"<0x09>", "\\t"}, {"\u2581", "\u2423"}};
  std::string out = piece;
  for (const auto& [from, to] : spelled)
    for (std::size_t at = out.find(from); at != std::string::npos;
         at = out.find(from, at + to.size()))
      out.replace(at, from.size(), to);
  return out;
}

}  // namespace

void domain_specialisation(const std::vector<RoutingPass>& passes,
                           const ExperimentSettings& settings, ExperimentResult& result) {
  result.table.columns = {"model", "layer", "domain", "expert", "tokens", "relative_load"};
  for (const RoutingPass& pass : passes) {
    const int n = pass.model->config().n_routed_experts;
    std::vector<int> experts(n);
    std::iota(experts.begin(), experts.end(), 0);
    for (int slot : slots_for(pass, settings.layer, false)) {
      HeatmapFigure map{heading(pass, slot),
                        "Routed expert",
                        "Domain",
                        "Load relative to balance (1 = fair share)",
                        {},
                        numbered(experts),
                        {},
                        1.0};
      std::vector<std::vector<double>> loads;
      for (const LabelEvaluation& l : pass.evaluation.labels) {
        loads.push_back(relative_load(l.routing, slot, n));
        map.row_labels.push_back(l.label);
        map.values.insert(map.values.end(), loads.back().begin(), loads.back().end());
        for (int e = 0; e < n; ++e)
          result.table.rows.push_back({pass.model->name(), pass.moe_layers[slot], l.label, e,
                                       static_cast<long>(l.routing.size()), loads.back()[e]});
      }
      const std::vector<double> uniform(n, 1.0);
      double from_uniform = 0.0, between = 0.0;
      int pairs = 0;
      for (std::size_t a = 0; a < loads.size(); ++a) {
        from_uniform += total_variation(loads[a], uniform) / loads.size();
        for (std::size_t b = a + 1; b < loads.size(); ++b, ++pairs)
          between += total_variation(loads[a], loads[b]);
      }
      result.findings.push_back(heading(pass, slot) + ": domains are on average " +
                                fixed(from_uniform) + " (total variation) from uniform load and " +
                                fixed(pairs ? between / pairs : 0.0) + " from each other");
      result.heatmaps.push_back(std::move(map));
    }
  }
}

void coactivation(const std::vector<RoutingPass>& passes, const ExperimentSettings& settings,
                  ExperimentResult& result) {
  result.table.columns = {"model",    "layer",          "expert_i",   "expert_j",
                          "tokens_i", "tokens_i_and_j", "p_j_given_i"};
  for (const RoutingPass& pass : passes) {
    const ModelConfig& c = pass.model->config();
    const std::vector<TokenRouting> tokens = all_tokens(pass);
    // Chance: another given expert among the other k-1 picks out of N-1.
    const double chance =
        c.n_routed_experts > 1 ? double(c.num_experts_per_tok - 1) / (c.n_routed_experts - 1) : 0.0;
    for (int slot : slots_for(pass, settings.layer, false)) {
      const auto counts = coactivation_counts(tokens, slot, c.n_routed_experts);
      const std::vector<int> top = most_used(counts, settings.top_experts);
      HeatmapFigure map{heading(pass, slot), "Expert j",    "Expert i", "P(j chosen | i chosen)",
                        numbered(top),       numbered(top), {},         chance};
      double strongest = 0.0;
      std::pair<int, int> strongest_pair{top[0], top[0]};
      for (int i : top)
        for (int j : top) {
          const double p = counts[i][i] ? double(counts[i][j]) / counts[i][i] : 0.0;
          map.values.push_back(p);
          result.table.rows.push_back(
              {pass.model->name(), pass.moe_layers[slot], i, j, counts[i][i], counts[i][j], p});
          if (i != j && p > strongest) strongest = p, strongest_pair = {i, j};
        }
      result.findings.push_back(heading(pass, slot) + ": strongest pair P(" +
                                std::to_string(strongest_pair.second) + " | " +
                                std::to_string(strongest_pair.first) + ") = " + fixed(strongest) +
                                " (chance " + fixed(chance) + ")");
      result.heatmaps.push_back(std::move(map));
    }
  }
}

void locality(const std::vector<RoutingPass>& passes, const ExperimentSettings& settings,
              ExperimentResult& result) {
  CurveFigure figure;
  figure.x_label = "Layer";
  figure.y_label = "Share of consecutive tokens";
  result.table.columns = {"model",
                          "layer",
                          "pairs",
                          "same_first",
                          "first_rate",
                          "chance_first",
                          "chance_first_load",
                          "shared_top2",
                          "top2_rate",
                          "chance_top2"};
  for (const RoutingPass& pass : passes) {
    const ModelConfig& c = pass.model->config();
    const std::vector<TokenRouting> tokens = all_tokens(pass);
    const bool has_second = c.num_experts_per_tok >= 2;
    Curve first{pass.model->name() + ": same first choice", {}, {}, false};
    Curve top2{pass.model->name() + ": first or second choice shared", {}, {}, false};
    Curve chance_first{pass.model->name() + ": chance (first)", {}, {}, true};
    Curve chance_top2{pass.model->name() + ": chance (first or second)", {}, {}, true};
    for (int slot : slots_for(pass, settings.layer, false)) {
      const Locality l = routing_locality(tokens, slot, c.n_routed_experts);
      const double x = pass.moe_layers[slot];
      first.x.push_back(x), first.y.push_back(l.first_rate());
      chance_first.x.push_back(x), chance_first.y.push_back(l.chance_first);
      if (has_second) {
        top2.x.push_back(x), top2.y.push_back(l.top2_rate());
        chance_top2.x.push_back(x), chance_top2.y.push_back(l.chance_top2);
      }
      result.table.rows.push_back(
          {pass.model->name(), pass.moe_layers[slot], l.pairs, l.same_first, l.first_rate(),
           l.chance_first, l.chance_first_load,
           has_second ? nlohmann::json(l.shared_top2) : nlohmann::json(nullptr),
           has_second ? nlohmann::json(l.top2_rate()) : nlohmann::json(nullptr),
           has_second ? nlohmann::json(l.chance_top2) : nlohmann::json(nullptr)});
      result.findings.push_back(heading(pass, slot) + ": same first choice " +
                                fixed(l.first_rate()) + " (chance " + fixed(l.chance_first) +
                                ", given the load " + fixed(l.chance_first_load) + ")" +
                                (has_second ? "; first or second shared " + fixed(l.top2_rate()) +
                                                  " (chance " + fixed(l.chance_top2) + ")"
                                            : std::string()));
    }
    figure.curves.push_back(std::move(first));
    if (has_second) figure.curves.push_back(std::move(top2));
    figure.curves.push_back(std::move(chance_first));
    if (has_second) figure.curves.push_back(std::move(chance_top2));
  }
  result.curves = std::move(figure);
}

void vocabulary(const std::vector<RoutingPass>& passes, const ExperimentSettings& settings,
                ExperimentResult& result) {
  CurveFigure figure;
  figure.style = CurveFigure::Style::bars;
  figure.y_label = "Share of the token's occurrences routed to its top expert";
  result.table.columns = {"model", "layer",       "view",   "expert", "token_id",
                          "token", "occurrences", "routed", "share"};
  std::vector<std::vector<std::string>> tick_sets;
  for (const RoutingPass& pass : passes) {
    const ModelConfig& c = pass.model->config();
    const Tokenizer& tokenizer = pass.model->tokenizer();
    const int slot = slots_for(pass, settings.layer, true).front();
    const int layer = pass.moe_layers[slot];
    const TokenExpertCounts counts =
        token_expert_counts(all_tokens(pass), slot, c.n_routed_experts);

    std::vector<std::pair<long, int>> frequent;  // (occurrences, token id)
    for (const auto& [id, n] : counts.occurrences) frequent.emplace_back(n, id);
    std::sort(frequent.begin(), frequent.end(), [](auto a, auto b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    frequent.resize(std::min<std::size_t>(frequent.size(), settings.top_tokens));

    Curve bars{pass.model->name() + " · layer " + std::to_string(layer), {}, {}, false};
    Curve chance{pass.model->name() + ": chance (k/N)", {}, {}, true};
    std::vector<std::string> ticks;
    std::vector<double> shares;
    for (const auto& [occurrences, id] : frequent) {
      const std::vector<long>& per_expert = counts.per_expert.at(id);
      const int top = static_cast<int>(std::max_element(per_expert.begin(), per_expert.end()) -
                                       per_expert.begin());
      const double share = double(per_expert[top]) / occurrences;
      bars.x.push_back(ticks.size()), bars.y.push_back(share), shares.push_back(share);
      chance.x.push_back(ticks.size()),
          chance.y.push_back(double(c.num_experts_per_tok) / c.n_routed_experts);
      ticks.push_back(visible(tokenizer.piece(id)));
      result.table.rows.push_back({pass.model->name(), layer, "frequent token", top, id, ticks.back(),
                                   occurrences, per_expert[top], share});
    }
    // Each expert's most specialised tokens: the share of a token's occurrences
    // the expert receives, among tokens seen at least 5 times.
    for (int e = 0; e < c.n_routed_experts; ++e) {
      std::vector<std::tuple<double, long, int>> ranked;
      for (const auto& [id, per_expert] : counts.per_expert) {
        const long n = counts.occurrences.at(id);
        if (n >= 5 && per_expert[e] > 0)
          ranked.emplace_back(double(per_expert[e]) / n, per_expert[e], id);
      }
      std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a > b; });
      for (std::size_t r = 0; r < std::min<std::size_t>(ranked.size(), 5); ++r) {
        const auto& [share, routed, id] = ranked[r];
        result.table.rows.push_back({pass.model->name(), layer, "expert's tokens", e, id,
                                     visible(tokenizer.piece(id)), counts.occurrences.at(id),
                                     routed, share});
      }
    }
    std::sort(shares.begin(), shares.end());
    result.findings.push_back(pass.model->name() + " · layer " + std::to_string(layer) + ": the " +
                              std::to_string(shares.size()) +
                              " most frequent tokens send a median " +
                              fixed(shares.empty() ? 0.0 : shares[shares.size() / 2]) +
                              " of their occurrences to their top expert (chance " +
                              fixed(double(c.num_experts_per_tok) / c.n_routed_experts) + ")");
    figure.curves.push_back(std::move(bars));
    figure.curves.push_back(std::move(chance));
    tick_sets.push_back(std::move(ticks));
  }
  // Bars line up by token only when every model saw the same most frequent tokens.
  const bool same = std::all_of(tick_sets.begin(), tick_sets.end(),
                                [&](const auto& t) { return t == tick_sets.front(); });
  figure.x_ticks = same ? tick_sets.front() : std::vector<std::string>{};
  if (!same) figure.x_label = "Frequency rank of the token (each model's own most frequent tokens)";
  result.curves = std::move(figure);
}

}  // namespace moescope::experiments
