#pragma once
// Sampling the next token of each row from logits [B, V], with the log-prob of the chosen token
// under softmax(logits / τ) — the distribution PPO later recomputes with a full forward pass, so
// it is not renormalised by top-k / top-p.
//
// Draw layout (every backend follows it): row b uses u = uniform(offset + b) of the given Philox
// stream (core/philox.hpp). Without top-k / top-p the token is the first id, in ascending id
// order, at which the cumulative probability exceeds u. With either filter the candidates are
// ordered by descending logit (ties: lower id first), cut to the top k and to the shortest
// prefix whose probability reaches top_p (at least one token), renormalised, and walked in that
// order. Greedy (temperature 0) takes the lowest id of maximal logit and reports its log-prob
// under softmax(logits).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/backend/cpu/vocab_rows.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/sampling.hpp"

namespace rlhf {

template <class T>
void sample_tokens(const cpu&, View<std::int32_t, cpu> tokens, View<T, cpu> logp, In<T, cpu> logits,
                   const SamplingParams& params, PhiloxStream rng, std::uint64_t offset) {
  using namespace cpu_detail;
  constexpr std::string_view op = "sample_tokens";
  const check::VocabRows rows = check::sample_args(op, tokens, logp, logits, params);
  const std::int64_t B = rows.N, V = rows.V;
  const bool greedy = params.temperature == 0;
  const bool filtered = !greedy && (params.top_k > 0 || params.top_p < 1);
  const T inv_t = greedy ? T(1) : T(1 / params.temperature);
#pragma omp parallel if (B * V >= min_parallel_work)
  {
    std::vector<std::int32_t> order;  // per thread, only with filters
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < B; ++b) {
      const T* z = logits.data() + b * V;
      const T lse = row_logsumexp(z, V, inv_t);
      std::int64_t pick = 0;
      if (greedy) {
        pick = std::max_element(z, z + V) - z;
      } else {
        const double u = rng.uniform(offset + static_cast<std::uint64_t>(b));
        auto prob = [&](std::int64_t v) { return std::exp(double(z[v] * inv_t - lse)); };
        if (!filtered) {
          double cum = 0;
          pick = V - 1;  // if rounding leaves the total just under u
          for (std::int64_t v = 0; v < V; ++v)
            if ((cum += prob(v)) > u) {
              pick = v;
              break;
            }
        } else {
          order.resize(static_cast<std::size_t>(V));
          std::iota(order.begin(), order.end(), 0);
          const std::int64_t k = params.top_k > 0 ? std::min(params.top_k, V) : V;
          auto before = [&](std::int32_t a, std::int32_t c) { return z[a] > z[c] || (z[a] == z[c] && a < c); };
          std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
          std::int64_t kept = 0;
          double total = 0;
          while (kept < k && (kept == 0 || total < params.top_p))
            total += prob(order[static_cast<std::size_t>(kept++)]);
          double cum = 0;
          pick = order[static_cast<std::size_t>(kept - 1)];
          for (std::int64_t i = 0; i < kept; ++i)
            if ((cum += prob(order[static_cast<std::size_t>(i)]) / total) > u) {
              pick = order[static_cast<std::size_t>(i)];
              break;
            }
        }
      }
      tokens.data()[b] = static_cast<std::int32_t>(pick);
      logp.data()[b] = std::min(z[pick] * inv_t - lse, T(0));  // rounding may cross 0
    }
  }
}

}  // namespace rlhf
