#include "backends/backend_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace moescope {
namespace {

constexpr std::size_t max_problems = 8;

std::string format(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2e", v);
  return text;
}

std::string ids_text(const std::vector<int>& ids) {
  std::string s = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
  return s + "]";
}

void note(BackendComparison& c, std::string text) {
  if (c.problems.size() < max_problems) c.problems.push_back(std::move(text));
}

int argmax(std::span<const float> v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

class Comparer {
 public:
  Comparer(BackendComparison& out, const CompareTolerances& tol, std::size_t hidden)
      : out_(out), tol_(tol), hidden_(hidden) {}

  // One call's results; `first` is the position of its first token.
  void call(std::span<const float> cand_logits, std::span<const float> ref_logits,
            std::span<const TokenRouting> cand, std::span<const TokenRouting> ref,
            std::span<const float> cand_hidden, std::span<const float> ref_hidden, int first,
            std::size_t vocab) {
    for (std::size_t t = 0; t < ref.size(); ++t) routing(cand[t], ref[t]);
    const int positions = static_cast<int>(ref_logits.size() / vocab);
    if (cand_logits.size() != ref_logits.size()) {
      ++out_.mismatches;
      note(out_, "position " + std::to_string(first) + ": " + std::to_string(cand_logits.size()) +
                     " logits, the reference " + std::to_string(ref_logits.size()));
      return;
    }
    for (int p = 0; p < positions; ++p)
      if (before_tie(first + p))
        out_.logits.add(cand_logits.subspan(p * vocab, vocab),
                        ref_logits.subspan(p * vocab, vocab));
    if (!before_tie(first + positions - 1)) return;
    if (cand_hidden.size() != ref_hidden.size() ||
        ref_hidden.size() != out_.hidden.size() * hidden_) {
      ++out_.mismatches;
      note(out_, "hidden states of " + std::to_string(cand_hidden.size()) +
                     " values, the reference " + std::to_string(ref_hidden.size()));
      return;
    }
    for (std::size_t l = 0; l < out_.hidden.size(); ++l)
      out_.hidden[l].add(cand_hidden.subspan(l * hidden_, hidden_),
                         ref_hidden.subspan(l * hidden_, hidden_));
  }

 private:
  bool before_tie(int position) const {
    return out_.compared_until < 0 || position < out_.compared_until;
  }

  void routing(const TokenRouting& cand, const TokenRouting& ref) {
    if (cand.layers.size() != ref.layers.size()) {
      ++out_.mismatches;
      note(out_, "position " + std::to_string(ref.position) + ": " +
                     std::to_string(cand.layers.size()) + " MoE layers traced, the reference " +
                     std::to_string(ref.layers.size()));
      return;
    }
    for (std::size_t m = 0; m < ref.layers.size(); ++m) {
      const LayerRouting &c = cand.layers[m], &r = ref.layers[m];
      ++out_.routing_compared;
      const std::string where =
          "position " + std::to_string(ref.position) + " layer " + std::to_string(r.layer);
      switch (classify_routing(c, r, tol_.near_tie)) {
        case RoutingDifference::near_tie:
          ++out_.near_ties;
          if (out_.compared_until < 0 || ref.position < out_.compared_until)
            out_.compared_until = ref.position;
          continue;
        case RoutingDifference::mismatch:
          ++out_.mismatches;
          note(out_, where + ": experts " + ids_text(c.expert_ids) + ", the reference " +
                         ids_text(r.expert_ids));
          continue;
        case RoutingDifference::none:
          break;
      }
      if (c.shared_active != r.shared_active || c.mask_changed != r.mask_changed ||
          c.layer != r.layer) {
        ++out_.mismatches;
        note(out_, where + ": shared_active, mask_changed or the layer id differ");
      }
      double err = std::abs(double(c.shared_gate) - r.shared_gate);
      for (std::size_t j = 0; j < r.gate_weights.size() && j < c.gate_weights.size(); ++j)
        err = std::max(err, std::abs(double(c.gate_weights[j]) - r.gate_weights[j]));
      if (!(err <= out_.gate_weight_error))
        out_.gate_weight_error = std::isnan(err) ? std::numeric_limits<double>::infinity() : err;
    }
  }

  BackendComparison& out_;
  const CompareTolerances& tol_;
  std::size_t hidden_;
};

}  // namespace

void ErrorStats::add(std::span<const float> candidate, std::span<const float> reference) {
  if (candidate.size() != reference.size()) sizes_match = false;
  const std::size_t n = std::min(candidate.size(), reference.size());
  for (std::size_t i = 0; i < n; ++i) {
    const double c = candidate[i], r = reference[i], d = std::abs(c - r);
    if (!std::isfinite(c) || !std::isfinite(r)) finite = false;
    max_abs_diff = std::max(max_abs_diff, d);
    max_abs_ref = std::max(max_abs_ref, std::abs(r));
    diff_sq += d * d;
    ref_sq += r * r;
  }
  compared += n;
}

double ErrorStats::relative() const {
  if (!finite || !sizes_match) return std::numeric_limits<double>::infinity();
  return max_abs_ref > 0 ? max_abs_diff / max_abs_ref : max_abs_diff;
}

double ErrorStats::norm_ratio() const {
  if (!finite || !sizes_match) return std::numeric_limits<double>::infinity();
  return ref_sq > 0 ? std::sqrt(diff_sq / ref_sq) : std::sqrt(diff_sq);
}

RoutingDifference classify_routing(const LayerRouting& candidate, const LayerRouting& reference,
                                   double near_tie) {
  const auto& c = candidate.expert_ids;
  const auto& r = reference.expert_ids;
  if (c == r) return RoutingDifference::none;
  if (c.size() != r.size()) return RoutingDifference::mismatch;
  const int n = static_cast<int>(reference.scores.size());
  for (std::size_t j = 0; j < r.size(); ++j) {
    if (c[j] == r[j]) continue;
    if (c[j] < 0 || c[j] >= n || r[j] < 0 || r[j] >= n) return RoutingDifference::mismatch;
    const double a = reference.scores[r[j]], b = reference.scores[c[j]];
    if (!(std::abs(a - b) <= near_tie * std::max(std::abs(a), std::abs(b))))
      return RoutingDifference::mismatch;
  }
  return RoutingDifference::near_tie;
}

bool BackendComparison::passed(const CompareTolerances& tol) const {
  if (mismatches > 0 || !(logits.relative() <= tol.logits) || logits.compared == 0) return false;
  if (!(gate_weight_error <= tol.gate_weights)) return false;
  for (const ErrorStats& h : hidden)
    if (!(h.relative() <= tol.hidden)) return false;
  return true;
}

std::string BackendComparison::summary(const CompareTolerances& tol) const {
  std::string s = "logits " + format(logits.relative()) + " (norm " + format(logits.norm_ratio()) +
                  ", tolerance " + format(tol.logits) + ")";
  int worst = -1;
  for (std::size_t l = 0; l < hidden.size(); ++l)
    if (worst < 0 || !(hidden[l].relative() <= hidden[worst].relative())) worst = int(l);
  if (worst >= 0)
    s += ", worst layer " + std::to_string(worst) + ": " + format(hidden[worst].relative());
  s += ", " + std::to_string(routing_compared) + " routing decisions, " +
       std::to_string(near_ties) + " near-ties, " + std::to_string(mismatches) +
       " mismatches, gate weights " + format(gate_weight_error);
  if (compared_until >= 0)
    s += "; positions from " + std::to_string(compared_until) +
         " on follow a near-tie, not compared";
  if (logits.compared == 0) s += "; no logits compared";
  for (const std::string& p : problems) s += "; " + p;
  return s;
}

BackendComparison compare_backends(Backend& candidate, Backend& reference,
                                   const ModelConfig& config, std::span<const int> prompt,
                                   int decode_steps, const Interventions& interventions,
                                   const CompareTolerances& tolerances) {
  BackendComparison out;
  out.hidden.resize(config.num_hidden_layers);
  Comparer comparer(out, tolerances, config.hidden_size);
  for (Backend* b : {&candidate, &reference}) {
    b->reset();
    b->keep_hidden_states(true);
  }
  std::vector<int> tokens(prompt.begin(), prompt.end());
  const std::size_t vocab = config.vocab_size;
  int pos = 0;
  for (int call = 0; call <= decode_steps; ++call) {
    // The first call is the prompt as one batch, the others decode one token each.
    const std::span<const int> ids =
        call == 0 ? std::span<const int>(tokens) : std::span<const int>(&tokens.back(), 1);
    const LogitsWanted wanted = call == 0 ? LogitsWanted::all : LogitsWanted::last;
    std::vector<TokenRouting> cand_traces(ids.size()), ref_traces(ids.size());
    const auto c = candidate.forward_batch(ids, pos, interventions, cand_traces, wanted);
    const std::vector<float> cand_logits(c.begin(), c.end());
    const std::vector<float> cand_hidden(candidate.hidden_states().begin(),
                                         candidate.hidden_states().end());
    const auto ref_logits = reference.forward_batch(ids, pos, interventions, ref_traces, wanted);
    comparer.call(cand_logits, ref_logits, cand_traces, ref_traces, cand_hidden,
                  reference.hidden_states(), pos + int(ids.size()) - int(ref_logits.size() / vocab),
                  vocab);
    pos += int(ids.size());
    tokens.push_back(argmax(ref_logits.subspan(ref_logits.size() - vocab)));
  }
  return out;
}

}  // namespace moescope
