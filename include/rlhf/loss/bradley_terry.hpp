#pragma once
// The Bradley-Terry ranking losses of a reward model, on the scalar rewards of a batch (a few
// numbers per batch, so they run on the host for every backend). Each returns the loss and
// writes its gradient with respect to every reward (overwriting drewards).
//
// Pairwise (Stiennon et al. 2020, TRL's RewardTrainer), over P pairs:
//   loss = 1/P Σ_p -log σ(r_w,p - r_l,p - m_p)  +  c · 1/P Σ_p (r_w,p + r_l,p)²
// with an optional per-pair margin m (0 when absent) and centring coefficient c (0: off).
//
// K-wise (Ouyang et al. 2022, eq. 1): a prompt with K ∈ [2, 9] ranked completions is one batch
// element. Every pair (i, j) with rank_i < rank_j (1 = best) is a comparison; equal ranks (ties)
// make no pair. With P_g the untied pairs of group g and G the groups of the batch:
//   loss = 1/G Σ_g 1/P_g Σ_{(i,j) ∈ g} -log σ(r_i - r_j)
// so a group's K completions are each forwarded once and the C(K,2) comparisons share them.
// A group whose completions are all tied has no pair and contributes 0 (it still counts in G).
//
// -log σ(d) is computed as softplus(-d) = max(-d, 0) + log1p(exp(-|d|)) and its derivative as
// -σ(-d) from the sign-safe logistic, so differences of ±1e4 give finite losses and gradients.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "rlhf/core/error.hpp"
#include "rlhf/data/ranking.hpp"

namespace rlhf::loss {

// -log σ(d), stable for any finite d.
inline double neg_log_sigmoid(double d) { return std::max(-d, 0.0) + std::log1p(std::exp(-std::abs(d))); }
// σ(d) without overflow: exp of a non-positive number only.
inline double sigmoid(double d) {
  const double e = std::exp(-std::abs(d));
  return d >= 0 ? 1 / (1 + e) : e / (1 + e);
}

template <class T>
struct PairwiseLossConfig {
  std::span<const T> margin = {};  // per pair, or empty: no margin
  double center_coefficient = 0;   // c of the centring term; 0: off
};

// chosen, rejected: [P] rewards of the preferred and the other completion of each pair.
// dchosen, drejected: [P], overwritten with dloss/dr.
template <class T>
double pairwise_loss(std::span<const T> chosen, std::span<const T> rejected, std::span<T> dchosen,
                     std::span<T> drejected, const PairwiseLossConfig<T>& config = {}) {
  const std::size_t P = chosen.size();
  if (P == 0) fail("pairwise_loss: no pairs");
  if (rejected.size() != P || dchosen.size() != P || drejected.size() != P ||
      (!config.margin.empty() && config.margin.size() != P))
    fail("pairwise_loss: ", P, " chosen rewards but ", rejected.size(), " rejected, ", config.margin.size(),
         " margins, ", dchosen.size(), " and ", drejected.size(), " gradient slots");
  const double c = config.center_coefficient;
  double loss = 0;
  for (std::size_t p = 0; p < P; ++p) {
    const double m = config.margin.empty() ? 0.0 : double(config.margin[p]);
    const double d = double(chosen[p]) - double(rejected[p]) - m;
    const double sum = double(chosen[p]) + double(rejected[p]);
    loss += neg_log_sigmoid(d) + c * sum * sum;
    const double dd = -sigmoid(-d) / double(P);  // d(-log σ(d))/dd = -σ(-d)
    const double dsum = 2 * c * sum / double(P);
    dchosen[p] = T(dd + dsum);
    drejected[p] = T(-dd + dsum);
  }
  return loss / double(P);
}

// rewards: [N] rewards of every completion of the batch; groups partition (part of) them.
// drewards: [N], overwritten (0 for completions in no group).
template <class T>
double kwise_loss(std::span<const T> rewards, std::span<const data::RankedGroup> groups, std::span<T> drewards) {
  if (groups.empty()) fail("kwise_loss: no groups");
  if (drewards.size() != rewards.size())
    fail("kwise_loss: ", rewards.size(), " rewards but ", drewards.size(), " gradient slots");
  std::fill(drewards.begin(), drewards.end(), T(0));
  const double G = double(groups.size());
  double loss = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const data::RankedGroup& group = groups[g];
    const auto K = static_cast<std::int64_t>(group.ranks.size());
    if (K < 2 || group.offset < 0 || group.offset + K > static_cast<std::int64_t>(rewards.size()))
      fail("kwise_loss: group ", g, " of ", K, " completions at offset ", group.offset, " does not fit ",
           rewards.size(), " rewards (K must be at least 2)");
    const auto pairs = data::ranked_pairs(group.ranks);
    if (pairs.empty()) continue;
    const double weight = 1.0 / (G * double(pairs.size()));
    const T* r = rewards.data() + group.offset;
    T* dr = drewards.data() + group.offset;
    for (const auto& [i, j] : pairs) {
      const double d = double(r[i]) - double(r[j]);
      loss += weight * neg_log_sigmoid(d);
      const double dd = -sigmoid(-d) * weight;
      dr[i] = T(double(dr[i]) + dd);
      dr[j] = T(double(dr[j]) - dd);
    }
  }
  return loss;
}

// What a reward model gets right on a set of groups: every untied pair counts once.
struct RankingStats {
  std::int64_t pairs = 0;    // untied comparisons
  std::int64_t correct = 0;  // those with r_better > r_worse
  double margin_sum = 0;     // Σ (r_better - r_worse)

  double accuracy() const { return pairs ? double(correct) / double(pairs) : 0.0; }
  double mean_margin() const { return pairs ? margin_sum / double(pairs) : 0.0; }
  RankingStats& operator+=(const RankingStats& o) {
    pairs += o.pairs;
    correct += o.correct;
    margin_sum += o.margin_sum;
    return *this;
  }
};

template <class T>
RankingStats ranking_stats(std::span<const T> rewards, std::span<const data::RankedGroup> groups) {
  RankingStats s;
  for (const data::RankedGroup& group : groups) {
    const T* r = rewards.data() + group.offset;
    for (const auto& [i, j] : data::ranked_pairs(group.ranks)) {
      const double d = double(r[i]) - double(r[j]);
      ++s.pairs;
      s.correct += d > 0;
      s.margin_sum += d;
    }
  }
  return s;
}

}  // namespace rlhf::loss
