#pragma once
// Row-wise kernels written once as Thrust algorithms over __host__ __device__ functors:
// LayerNorm, softmax, and the ops over the vocabulary (fused cross-entropy, log-probs, entropy),
// forward and backward. The CUDA backend runs them on its stream, thrust_omp on OpenMP threads
// (backend/thrust/rows.hpp; tests/portable).
//
// One functor call handles one row, so rows run in parallel and each row's sums run in a fixed
// order: the results do not depend on the thread count. Reductions across rows (LayerNorm's dw
// and db, the cross-entropy's mean) are separate passes over columns or a Thrust reduce, never
// atomics. The formulas are those of the CPU kernels (backend/cpu/*.hpp); backward kernels
// accumulate (+=) like theirs. Callers check shapes (backend/kernel_checks.hpp) first.
#include <math.h>

#include <cstdint>

#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform_reduce.h>

#include "rlhf/backend/portable/elementwise.hpp"

namespace rlhf::portable {

namespace detail {
RLHF_HOST_DEVICE inline float exp_of(float x) { return ::expf(x); }
RLHF_HOST_DEVICE inline double exp_of(double x) { return ::exp(x); }
RLHF_HOST_DEVICE inline float log_of(float x) { return ::logf(x); }
RLHF_HOST_DEVICE inline double log_of(double x) { return ::log(x); }

// log Σ_v exp(z_v / τ), shifted by the maximum so ±1e4 logits stay finite (V > 0).
template <class T>
RLHF_HOST_DEVICE T row_logsumexp(const T* z, std::int64_t V, T inv_t) {
  T top = z[0];
  for (std::int64_t v = 1; v < V; ++v) top = z[v] > top ? z[v] : top;
  const T m = top * inv_t;
  T sum = 0;
  for (std::int64_t v = 0; v < V; ++v) sum += exp_of(z[v] * inv_t - m);
  return m + log_of(sum);
}
}  // namespace detail

// ---- LayerNorm over rows of C: out = (x - mean) · rstd · w + b ------------------------------

template <class T>
struct LayerNormForward {
  T *out, *mean, *rstd;
  const T *x, *w, *b;
  std::int64_t C;
  T eps;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    const T* xi = x + i * C;
    T sum = 0;
    for (std::int64_t j = 0; j < C; ++j) sum += xi[j];
    const T m = sum / T(C);
    T sq = 0;
    for (std::int64_t j = 0; j < C; ++j) sq += (xi[j] - m) * (xi[j] - m);
    const T s = T(1) / detail::sqrt_of(sq / T(C) + eps);
    for (std::int64_t j = 0; j < C; ++j) out[i * C + j] = (xi[j] - m) * s * w[j] + b[j];
    mean[i] = m;
    rstd[i] = s;
  }
};

// dx += rstd · (g − mean(g) − x̂ · mean(g · x̂)) with g = dout · w, one row per call.
template <class T>
struct LayerNormBackwardRows {
  T* dx;
  const T *dout, *x, *w, *mean, *rstd;
  std::int64_t C;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    const T m = mean[i], s = rstd[i];
    const T *xi = x + i * C, *gi = dout + i * C;
    T g_sum = 0, gx_sum = 0;
    for (std::int64_t j = 0; j < C; ++j) {
      const T g = gi[j] * w[j];
      g_sum += g;
      gx_sum += g * (xi[j] - m) * s;
    }
    const T g_mean = g_sum / T(C), gx_mean = gx_sum / T(C);
    for (std::int64_t j = 0; j < C; ++j) {
      const T xhat = (xi[j] - m) * s;
      dx[i * C + j] += s * (gi[j] * w[j] - g_mean - xhat * gx_mean);
    }
  }
};

// dw[j] += Σ_i dout[i, j] · x̂[i, j];  db[j] += Σ_i dout[i, j], one column per call.
template <class T>
struct LayerNormBackwardColumns {
  T *dw, *db;
  const T *dout, *x, *mean, *rstd;
  std::int64_t N, C;
  RLHF_HOST_DEVICE void operator()(std::int64_t j) const {
    T w_sum = 0, b_sum = 0;
    for (std::int64_t i = 0; i < N; ++i) {
      const T g = dout[i * C + j];
      w_sum += g * (x[i * C + j] - mean[i]) * rstd[i];
      b_sum += g;
    }
    dw[j] += w_sum;
    db[j] += b_sum;
  }
};

template <class Policy, class T>
void layernorm_forward(const Policy& policy, T* out, T* mean, T* rstd, const T* x, const T* w, const T* b,
                       std::int64_t N, std::int64_t C, T eps) {
  for_each_index(policy, N, LayerNormForward<T>{out, mean, rstd, x, w, b, C, eps});
}

template <class Policy, class T>
void layernorm_backward(const Policy& policy, T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const T* mean,
                        const T* rstd, std::int64_t N, std::int64_t C) {
  for_each_index(policy, N, LayerNormBackwardRows<T>{dx, dout, x, w, mean, rstd, C});
  for_each_index(policy, C, LayerNormBackwardColumns<T>{dw, db, dout, x, mean, rstd, N, C});
}

// ---- Softmax over rows of C -----------------------------------------------------------------

template <class T>
struct SoftmaxForward {
  T* out;
  const T* x;
  std::int64_t C;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    const T* xi = x + i * C;
    T* yi = out + i * C;
    T top = xi[0];
    for (std::int64_t j = 1; j < C; ++j) top = xi[j] > top ? xi[j] : top;
    T sum = 0;
    for (std::int64_t j = 0; j < C; ++j) sum += (yi[j] = detail::exp_of(xi[j] - top));
    for (std::int64_t j = 0; j < C; ++j) yi[j] /= sum;
  }
};

// dx += y ∘ (dy − Σ y ∘ dy)
template <class T>
struct SoftmaxBackward {
  T* dx;
  const T *dout, *y;
  std::int64_t C;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    const T *yi = y + i * C, *gi = dout + i * C;
    T dot = 0;
    for (std::int64_t j = 0; j < C; ++j) dot += yi[j] * gi[j];
    for (std::int64_t j = 0; j < C; ++j) dx[i * C + j] += yi[j] * (gi[j] - dot);
  }
};

template <class Policy, class T>
void softmax_forward(const Policy& policy, T* out, const T* x, std::int64_t N, std::int64_t C) {
  if (C > 0) for_each_index(policy, N, SoftmaxForward<T>{out, x, C});
}

template <class Policy, class T>
void softmax_backward(const Policy& policy, T* dx, const T* dout, const T* y, std::int64_t N, std::int64_t C) {
  for_each_index(policy, N, SoftmaxBackward<T>{dx, dout, y, C});
}

// ---- Ops over the vocabulary: logits [N, V] -------------------------------------------------

// losses[n] = lse[n] − z[n, t_n] (both 0 where the mask is 0; a null mask keeps every row).
template <class T>
struct CrossEntropyForward {
  T *losses, *lse;
  const T* logits;
  const std::int32_t* targets;
  const T* mask;
  std::int64_t V;
  RLHF_HOST_DEVICE void operator()(std::int64_t n) const {
    if (mask && mask[n] == T(0)) {
      losses[n] = lse[n] = T(0);
      return;
    }
    const T* z = logits + n * V;
    lse[n] = detail::row_logsumexp(z, V, T(1));
    losses[n] = lse[n] - z[targets[n]];
  }
};

// The mask's weight of row n (1 without a mask), and Σ weight · loss.
template <class T>
struct MaskWeight {
  const T* mask;
  RLHF_HOST_DEVICE T operator()(std::int64_t n) const { return mask ? mask[n] : T(1); }
};
template <class T>
struct WeightedLoss {
  const T *mask, *losses;
  RLHF_HOST_DEVICE T operator()(std::int64_t n) const { return (mask ? mask[n] : T(1)) * losses[n]; }
};

// dlogits[n, v] += g_n (softmax(z_n)_v − [v = t_n]),  g_n = dloss · mask[n] / Σ mask
template <class T>
struct CrossEntropyBackward {
  T* dlogits;
  const T *logits, *lse;
  const std::int32_t* targets;
  const T* mask;
  std::int64_t V;
  T dloss_over_total;
  RLHF_HOST_DEVICE void operator()(std::int64_t n) const {
    const T m = mask ? mask[n] : T(1);
    if (m == T(0)) return;
    const T g = dloss_over_total * m;
    const T* z = logits + n * V;
    T* d = dlogits + n * V;
    for (std::int64_t v = 0; v < V; ++v) d[v] += g * detail::exp_of(z[v] - lse[n]);
    d[targets[n]] -= g;
  }
};

// Σ_n f(n) for n in [0, N), summed by Thrust (a host value).
template <class T, class Policy, class F>
T reduce_rows(const Policy& policy, std::int64_t N, F f) {
  if (N <= 0) return T(0);
  return thrust::transform_reduce(policy, thrust::counting_iterator<std::int64_t>(0),
                                  thrust::counting_iterator<std::int64_t>(N), f, T(0), thrust::plus<T>());
}

// Returns Σ mask · loss / Σ mask (0 when every row is masked), as the CPU kernel does.
template <class Policy, class T>
T cross_entropy_forward(const Policy& policy, T* losses, T* lse, const T* logits, const std::int32_t* targets,
                        const T* mask, std::int64_t N, std::int64_t V) {
  for_each_index(policy, N, CrossEntropyForward<T>{losses, lse, logits, targets, mask, V});
  const T total = reduce_rows<T>(policy, N, MaskWeight<T>{mask});
  return total != T(0) ? reduce_rows<T>(policy, N, WeightedLoss<T>{mask, losses}) / total : T(0);
}

template <class Policy, class T>
void cross_entropy_backward(const Policy& policy, T* dlogits, const T* logits, const T* lse,
                            const std::int32_t* targets, const T* mask, std::int64_t N, std::int64_t V, T dloss) {
  const T total = reduce_rows<T>(policy, N, MaskWeight<T>{mask});
  if (total == T(0)) return;
  for_each_index(policy, N, CrossEntropyBackward<T>{dlogits, logits, lse, targets, mask, V, dloss / total});
}

// logp[n] = z[n, t_n] / τ − logsumexp(z[n] / τ)
template <class T>
struct LogprobForward {
  T *logp, *lse;
  const T* logits;
  const std::int32_t* targets;
  std::int64_t V;
  T inv_t;
  RLHF_HOST_DEVICE void operator()(std::int64_t n) const {
    const T* z = logits + n * V;
    lse[n] = detail::row_logsumexp(z, V, inv_t);
    const T v = z[targets[n]] * inv_t - lse[n];
    logp[n] = v < T(0) ? v : T(0);  // a log-probability; rounding may cross 0
  }
};

// dlogits[n, v] += dlogp[n] · ([v = t_n] − p_v) / τ
template <class T>
struct LogprobBackward {
  T* dlogits;
  const T *dlogp, *logits, *lse;
  const std::int32_t* targets;
  std::int64_t V;
  T inv_t;
  RLHF_HOST_DEVICE void operator()(std::int64_t n) const {
    const T g = dlogp[n] * inv_t;
    if (g == T(0)) return;
    const T* z = logits + n * V;
    T* d = dlogits + n * V;
    for (std::int64_t v = 0; v < V; ++v) d[v] -= g * detail::exp_of(z[v] * inv_t - lse[n]);
    d[targets[n]] += g;
  }
};

template <class Policy, class T>
void logprob_forward(const Policy& policy, T* logp, T* lse, const T* logits, const std::int32_t* targets,
                     std::int64_t N, std::int64_t V, T temperature) {
  for_each_index(policy, N, LogprobForward<T>{logp, lse, logits, targets, V, T(1) / temperature});
}

template <class Policy, class T>
void logprob_backward(const Policy& policy, T* dlogits, const T* dlogp, const T* logits, const T* lse,
                      const std::int32_t* targets, std::int64_t N, std::int64_t V, T temperature) {
  for_each_index(policy, N, LogprobBackward<T>{dlogits, dlogp, logits, lse, targets, V, T(1) / temperature});
}

// H[n] = −Σ_v p_v log p_v with p = softmax(z[n] / τ); p = 0 terms add 0 (no 0 · −inf).
template <class T>
struct EntropyForward {
  T *entropy, *lse;
  const T* logits;
  std::int64_t V;
  T inv_t;
  RLHF_HOST_DEVICE void operator()(std::int64_t n) const {
    const T* z = logits + n * V;
    const T l = detail::row_logsumexp(z, V, inv_t);
    T sum = 0;
    for (std::int64_t v = 0; v < V; ++v) {
      const T logp = z[v] * inv_t - l;
      sum += detail::exp_of(logp) * logp;
    }
    lse[n] = l;
    entropy[n] = -sum;
  }
};

// dlogits[n, v] += dH[n] · (−p_v (log p_v + H[n])) / τ
template <class T>
struct EntropyBackward {
  T* dlogits;
  const T *dentropy, *logits, *lse, *entropy;
  std::int64_t V;
  T inv_t;
  RLHF_HOST_DEVICE void operator()(std::int64_t n) const {
    const T g = dentropy[n] * inv_t;
    if (g == T(0)) return;
    const T* z = logits + n * V;
    T* d = dlogits + n * V;
    for (std::int64_t v = 0; v < V; ++v) {
      const T logp = z[v] * inv_t - lse[n];
      d[v] -= g * detail::exp_of(logp) * (logp + entropy[n]);
    }
  }
};

template <class Policy, class T>
void entropy_forward(const Policy& policy, T* entropy, T* lse, const T* logits, std::int64_t N, std::int64_t V,
                     T temperature) {
  for_each_index(policy, N, EntropyForward<T>{entropy, lse, logits, V, T(1) / temperature});
}

template <class Policy, class T>
void entropy_backward(const Policy& policy, T* dlogits, const T* dentropy, const T* logits, const T* lse,
                      const T* entropy, std::int64_t N, std::int64_t V, T temperature) {
  for_each_index(policy, N, EntropyBackward<T>{dlogits, dentropy, logits, lse, entropy, V, T(1) / temperature});
}

}  // namespace rlhf::portable
