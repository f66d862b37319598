#pragma once
// Sampling the next token of each row from logits [B, V] as Thrust algorithms over
// __host__ __device__ functors, following the draw layout of backend/cpu/sample.hpp to the letter
// (row b uses u = uniform(offset + b); without filters the first id in ascending order whose
// cumulative probability exceeds u; with top-k / top-p the candidates in descending logit order,
// ties to the lower id; greedy takes the lowest id of maximal logit), so that both backends pick
// the same tokens for the same seed. Probabilities are summed in double, as on the CPU.
//
// With a filter, a sort of all B·V (row, logit, id) keys orders the candidates: `order` is the
// caller's scratch of B·V indices. Without one, no scratch is read.
#include <cstdint>

#include <thrust/sort.h>
#include <thrust/transform.h>

#include "rlhf/backend/portable/rows.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/sampling.hpp"

namespace rlhf::portable {

// Flat index i = b·V + v; sorted rows first, then descending logit, then ascending id.
template <class T>
struct CandidateBefore {
  const T* logits;
  std::int64_t V;
  RLHF_HOST_DEVICE bool operator()(std::int64_t a, std::int64_t c) const {
    const std::int64_t ra = a / V, rc = c / V;
    if (ra != rc) return ra < rc;
    return logits[a] > logits[c] || (logits[a] == logits[c] && a < c);
  }
};

struct Identity {
  RLHF_HOST_DEVICE std::int64_t operator()(std::int64_t i) const { return i; }
};

template <class T>
struct SampleRow {
  std::int32_t* tokens;
  T* logp;
  const T* logits;
  const std::int64_t* order;  // sorted candidates, when filtered
  std::int64_t V, top_k;
  double top_p;
  T inv_t;
  bool greedy, filtered;
  PhiloxStream rng;
  std::uint64_t offset;

  RLHF_HOST_DEVICE double prob(const T* z, std::int64_t v, T lse) const {
    return detail::exp_of(double(z[v] * inv_t - lse));
  }

  RLHF_HOST_DEVICE void operator()(std::int64_t b) const {
    const T* z = logits + b * V;
    const T lse = detail::row_logsumexp(z, V, inv_t);
    std::int64_t pick = 0;
    if (greedy) {
      for (std::int64_t v = 1; v < V; ++v)
        if (z[v] > z[pick]) pick = v;
    } else {
      const double u = rng.uniform(offset + static_cast<std::uint64_t>(b));
      if (!filtered) {
        double cum = 0;
        pick = V - 1;  // if rounding leaves the total just under u
        for (std::int64_t v = 0; v < V; ++v)
          if ((cum += prob(z, v, lse)) > u) {
            pick = v;
            break;
          }
      } else {
        const std::int64_t* row = order + b * V;  // flat indices into logits
        const std::int64_t k = top_k > 0 && top_k < V ? top_k : V;
        std::int64_t kept = 0;
        double total = 0;
        while (kept < k && (kept == 0 || total < top_p)) total += prob(z, row[kept++] - b * V, lse);
        double cum = 0;
        pick = row[kept - 1] - b * V;
        for (std::int64_t i = 0; i < kept; ++i)
          if ((cum += prob(z, row[i] - b * V, lse) / total) > u) {
            pick = row[i] - b * V;
            break;
          }
      }
    }
    tokens[b] = static_cast<std::int32_t>(pick);
    const T v = z[pick] * inv_t - lse;
    logp[b] = v < T(0) ? v : T(0);  // a log-probability; rounding may cross 0
  }
};

// True when the parameters call for the sorted candidates (and so for `order`).
inline bool sampling_is_filtered(const SamplingParams& params) {
  return params.temperature != 0 && (params.top_k > 0 || params.top_p < 1);
}

// params must be valid (SamplingParams::validate); order: B·V scratch indices when filtered.
template <class Policy, class T>
void sample_tokens(const Policy& policy, std::int32_t* tokens, T* logp, const T* logits, std::int64_t B, std::int64_t V,
                   const SamplingParams& params, PhiloxStream rng, std::uint64_t offset, std::int64_t* order) {
  const bool greedy = params.temperature == 0, filtered = sampling_is_filtered(params);
  if (filtered) {
    thrust::transform(policy, thrust::counting_iterator<std::int64_t>(0),
                      thrust::counting_iterator<std::int64_t>(B * V), order, Identity{});
    thrust::sort(policy, order, order + B * V, CandidateBefore<T>{logits, V});
  }
  const T inv_t = greedy ? T(1) : T(1 / params.temperature);
  for_each_index(
      policy, B,
      SampleRow<T>{tokens, logp, logits, order, V, params.top_k, params.top_p, inv_t, greedy, filtered, rng, offset});
}

}  // namespace rlhf::portable
