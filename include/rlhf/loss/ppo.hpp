#pragma once
// PPO's per-token math (Schulman et al. 2017; Ziegler et al. 2019; Stiennon et al. 2020), on
// [B, T] host tensors: a few numbers per token, while the model passes that produce the log-probs
// and values run on the model's backend. Every function takes the response mask (1 on response
// tokens) and reads nothing where it is 0.
//
//   masked_mean, masked_var, masked_whiten   statistics over mask = 1 (TRL's conventions)
//   kl_penalty                               per-token k1 = logπ − logπ_ref, k3, |·|, ½(·)²
//   per_token_rewards                        r_t = −β k_t, plus the score at the last response token
//   gae                                      advantages and returns, γ, λ, V after the last token 0
//   policy_loss, value_loss                  the clipped objectives with their gradients
//   explained_variance, AdaptiveKL           diagnostics, the adaptive KL coefficient
//
// TRL 0.8.6 computes the same (tests/reference/make_trl_ppo_refs.py stores its outputs; the
// tests compare), except where it writes values at masked positions: there our advantages and
// returns are 0 and our whitening leaves them 0.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/core/check.hpp"
#include "rlhf/core/tensor.hpp"

namespace rlhf::loss {

namespace ppo_detail {
template <class T>
std::int64_t count(In<T, cpu> mask) {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < mask.numel(); ++i) n += mask.data()[i] != T(0);
  return n;
}
template <class T>
void check_mask(std::string_view op, std::string_view name, In<T, cpu> x, In<T, cpu> mask) {
  check::rank(op, name, x, 2);
  check::shape(op, "mask", mask, x.shape());
}
}  // namespace ppo_detail

// Σ x·mask / Σ mask. An all-zero mask is an error (there is nothing to average).
template <class T>
double masked_mean(In<T, cpu> x, In<T, cpu> mask) {
  check::shape("masked_mean", "mask", mask, x.shape());
  double s = 0, n = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i)
    if (mask.data()[i] != T(0)) s += double(x.data()[i]) * double(mask.data()[i]), n += double(mask.data()[i]);
  if (n == 0) fail("masked_mean: the mask ", mask.shape(), " selects nothing");
  return s / n;
}

// The masked mean of (x − mean)²; unbiased: × n / (n − 1), n = Σ mask (TRL's masked_var).
template <class T>
double masked_var(In<T, cpu> x, In<T, cpu> mask, bool unbiased = true) {
  const double mean = masked_mean<T>(x, mask);
  double s = 0, n = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    if (mask.data()[i] == T(0)) continue;
    const double c = double(x.data()[i]) - mean;
    s += c * c * double(mask.data()[i]);
    n += double(mask.data()[i]);
  }
  double var = s / n;
  if (unbiased) {
    if (n <= 1) fail("masked_var: an unbiased variance needs two or more selected values, the mask selects ", n);
    var *= n / (n - 1);
  }
  return var;
}

// out = (x − mean) / √(var + 1e-8) (+ mean when !shift_mean), mean and unbiased var over the
// mask; out = 0 where the mask is 0. out may be x.
template <class T>
void masked_whiten(View<T, cpu> out, In<T, cpu> x, In<T, cpu> mask, bool shift_mean = true) {
  check::same("masked_whiten", "out", out, "x", x);
  const double mean = masked_mean<T>(x, mask), var = masked_var<T>(x, mask, true);
  const double inv = 1 / std::sqrt(var + 1e-8);
  for (std::int64_t i = 0; i < x.numel(); ++i)
    out.data()[i] = mask.data()[i] == T(0) ? T(0) : T((double(x.data()[i]) - mean) * inv + (shift_mean ? 0.0 : mean));
}

// The per-token estimate of KL(π ‖ π_ref) from the sampled token's log-probs:
//   k1 = logπ − logπ_ref (unbiased, may be negative), k3 = (ρ − 1) − log ρ with ρ = π_ref/π
//   (unbiased, never negative; Schulman's "Approximating KL divergence"), abs = |k1|, mse = ½k1².
enum class KLEstimator { k1, k3, abs, mse };

inline KLEstimator parse_kl_estimator(std::string_view name) {
  if (name == "k1" || name == "kl") return KLEstimator::k1;
  if (name == "k3") return KLEstimator::k3;
  if (name == "abs") return KLEstimator::abs;
  if (name == "mse") return KLEstimator::mse;
  fail("unknown KL estimator \"", name, "\" (expected k1, k3, abs or mse)");
}

inline double kl_penalty(double logp, double ref_logp, KLEstimator k) {
  const double d = logp - ref_logp;
  switch (k) {
    case KLEstimator::k1: return d;
    case KLEstimator::k3: return std::expm1(-d) + d;  // ρ − 1 − log ρ with log ρ = −d
    case KLEstimator::abs: return std::abs(d);
    case KLEstimator::mse: return 0.5 * d * d;
  }
  return d;
}

// The last position of each row whose mask is 1 (the response's EOS, or its final token when it
// was cut at max_new_tokens). A row without one is an error.
template <class T>
std::vector<std::int64_t> last_response_index(In<T, cpu> mask) {
  check::rank("last_response_index", "mask", mask, 2);
  const std::int64_t B = mask.size(0), Tn = mask.size(1);
  std::vector<std::int64_t> last(static_cast<std::size_t>(B), -1);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < Tn; ++t)
      if (mask.data()[b * Tn + t] != T(0)) last[std::size_t(b)] = t;
  for (std::int64_t b = 0; b < B; ++b)
    if (last[std::size_t(b)] < 0)
      fail("last_response_index: row ", b, " of the mask ", mask.shape(), " has no response token");
  return last;
}

// Stiennon et al.'s reward: r_t = −β·k_t on every response token, and the score of the whole
// response added at its last token. kl [B, T] receives k_t (0 off the mask).
template <class T>
void per_token_rewards(View<T, cpu> rewards, View<T, cpu> kl, std::span<const T> scores, In<T, cpu> logp,
                       In<T, cpu> ref_logp, In<T, cpu> mask, double beta, KLEstimator estimator) {
  constexpr std::string_view op = "per_token_rewards";
  ppo_detail::check_mask<T>(op, "logp", logp, mask);
  check::shape(op, "ref_logp", ref_logp, logp.shape());
  check::shape(op, "rewards", rewards, logp.shape());
  check::shape(op, "kl", kl, logp.shape());
  const std::int64_t B = logp.size(0), Tn = logp.size(1);
  if (static_cast<std::int64_t>(scores.size()) != B) fail(op, ": ", scores.size(), " scores for ", B, " rows");
  const std::vector<std::int64_t> last = last_response_index<T>(mask);
  for (std::int64_t i = 0; i < B * Tn; ++i) {
    const bool on = mask.data()[i] != T(0);
    const double k = on ? kl_penalty(double(logp.data()[i]), double(ref_logp.data()[i]), estimator) : 0.0;
    kl.data()[i] = T(k);
    rewards.data()[i] = T(-beta * k);
  }
  for (std::int64_t b = 0; b < B; ++b) {
    T& r = rewards.data()[b * Tn + last[std::size_t(b)]];
    r = T(double(r) + double(scores[std::size_t(b)]));
  }
}

// Generalised advantage estimation (Schulman et al. 2016) over the response tokens:
//   δ_t = r_t + γ V_{t+1} − V_t,   A_t = δ_t + γλ A_{t+1},   returns R_t = A_t + V_t
// with V and r read only on the mask (a value after the last response token is 0), and A, R = 0
// off it. Advantages are not whitened here (masked_whiten them for the policy loss; the returns
// use the raw ones).
template <class T>
void gae(View<T, cpu> advantages, View<T, cpu> returns, In<T, cpu> values, In<T, cpu> rewards, In<T, cpu> mask,
         double gamma, double lambda) {
  constexpr std::string_view op = "gae";
  ppo_detail::check_mask<T>(op, "values", values, mask);
  check::shape(op, "rewards", rewards, values.shape());
  check::shape(op, "advantages", advantages, values.shape());
  check::shape(op, "returns", returns, values.shape());
  const std::int64_t B = values.size(0), Tn = values.size(1);
  for (std::int64_t b = 0; b < B; ++b) {
    double next_value = 0, next_advantage = 0;
    for (std::int64_t t = Tn; t-- > 0;) {
      const std::int64_t i = b * Tn + t;
      if (mask.data()[i] == T(0)) {  // padding after the response, or the prompt before it
        advantages.data()[i] = returns.data()[i] = T(0);
        next_value = next_advantage = 0;
        continue;
      }
      const double v = double(values.data()[i]);
      const double delta = double(rewards.data()[i]) + gamma * next_value - v;
      const double a = delta + gamma * lambda * next_advantage;
      advantages.data()[i] = T(a);
      returns.data()[i] = T(a + v);
      next_value = v;
      next_advantage = a;
    }
  }
}

struct PolicyLossStats {
  double loss = 0;
  double clipfrac = 0;  // share of tokens where the clipped term is the larger (TRL's policy/clipfrac)
  double approxkl = 0;  // ½ mean (logπ − logπ_old)²
  double policykl = 0;  // mean (logπ_old − logπ)
  double ratio_mean = 0;
};

// L = mean_mask max(−A ρ, −A clip(ρ, 1 − ε, 1 + ε)), ρ = exp(logπ − logπ_old). dlogp [B, T] is
// overwritten with dL/dlogπ (0 off the mask); scale multiplies loss and gradient (a micro-batch's
// share of its step).
template <class T>
PolicyLossStats policy_loss(View<T, cpu> dlogp, In<T, cpu> logp, In<T, cpu> old_logp, In<T, cpu> advantages,
                            In<T, cpu> mask, double clip, double scale = 1.0) {
  constexpr std::string_view op = "policy_loss";
  ppo_detail::check_mask<T>(op, "logp", logp, mask);
  for (auto [name, v] : {std::pair{"old_logp", old_logp}, std::pair{"advantages", advantages}})
    check::shape(op, name, v, logp.shape());
  check::shape(op, "dlogp", dlogp, logp.shape());
  const double n = double(ppo_detail::count<T>(mask));
  if (n == 0) fail(op, ": the mask ", mask.shape(), " selects nothing");
  PolicyLossStats s;
  for (std::int64_t i = 0; i < logp.numel(); ++i) {
    dlogp.data()[i] = T(0);
    if (mask.data()[i] == T(0)) continue;
    const double d = double(logp.data()[i]) - double(old_logp.data()[i]);
    const double ratio = std::exp(d), a = double(advantages.data()[i]);
    const double clipped = std::clamp(ratio, 1 - clip, 1 + clip);
    const double unclipped_loss = -a * ratio, clipped_loss = -a * clipped;
    const bool clipped_wins = clipped_loss > unclipped_loss;
    s.loss += std::max(unclipped_loss, clipped_loss);
    s.clipfrac += clipped_wins;
    s.approxkl += 0.5 * d * d;
    s.policykl -= d;
    s.ratio_mean += ratio;
    // The larger term's derivative: −A ρ, except a clipped term at its bound (derivative 0).
    const bool at_bound = ratio < 1 - clip || ratio > 1 + clip;
    dlogp.data()[i] = T(clipped_wins && at_bound ? 0.0 : -a * ratio * scale / n);
  }
  s.loss *= scale / n;
  s.clipfrac /= n;
  s.approxkl /= n;
  s.policykl /= n;
  s.ratio_mean /= n;
  return s;
}

struct ValueLossStats {
  double loss = 0;
  double clipfrac = 0;  // share of tokens where the clipped term is the larger (TRL's val/clipfrac)
  double error = 0;     // mean (V − R)²
};

// L = ½ mean_mask max((V − R)², (V_c − R)²), V_c = clip(V, V_old − ε_v, V_old + ε_v). dvalues is
// overwritten with scale · dL/dV (0 off the mask); loss is scale · L.
template <class T>
ValueLossStats value_loss(View<T, cpu> dvalues, In<T, cpu> values, In<T, cpu> old_values, In<T, cpu> returns,
                          In<T, cpu> mask, double clip, double scale = 1.0) {
  constexpr std::string_view op = "value_loss";
  ppo_detail::check_mask<T>(op, "values", values, mask);
  for (auto [name, v] : {std::pair{"old_values", old_values}, std::pair{"returns", returns}})
    check::shape(op, name, v, values.shape());
  check::shape(op, "dvalues", dvalues, values.shape());
  const double n = double(ppo_detail::count<T>(mask));
  if (n == 0) fail(op, ": the mask ", mask.shape(), " selects nothing");
  ValueLossStats s;
  for (std::int64_t i = 0; i < values.numel(); ++i) {
    dvalues.data()[i] = T(0);
    if (mask.data()[i] == T(0)) continue;
    const double v = double(values.data()[i]), old = double(old_values.data()[i]), r = double(returns.data()[i]);
    const double vc = std::clamp(v, old - clip, old + clip);
    const double l1 = (v - r) * (v - r), l2 = (vc - r) * (vc - r);
    const bool clipped_wins = l2 > l1;
    s.loss += 0.5 * std::max(l1, l2);
    s.clipfrac += clipped_wins;
    s.error += l1;
    const bool at_bound = v < old - clip || v > old + clip;
    dvalues.data()[i] = T(clipped_wins ? (at_bound ? 0.0 : (vc - r)) * scale / n : (v - r) * scale / n);
  }
  s.loss *= scale / n;
  s.clipfrac /= n;
  s.error /= n;
  return s;
}

// 1 − Var(R − V) / Var(R) over the mask (1: the values explain the returns; ≤ 0: no better than
// their mean). Biased variances, as the usual diagnostic.
template <class T>
double explained_variance(In<T, cpu> values, In<T, cpu> returns, In<T, cpu> mask) {
  check::shape("explained_variance", "returns", returns, values.shape());
  std::vector<T> diff(static_cast<std::size_t>(values.numel()));
  for (std::size_t i = 0; i < diff.size(); ++i) diff[i] = returns.data()[i] - values.data()[i];
  const double var_r = masked_var<T>(returns, mask, false);
  if (var_r == 0) return 0.0;
  return 1 - masked_var<T>(View<const T, cpu>(diff.data(), values.shape()), mask, false) / var_r;
}

// The adaptive KL coefficient of Ziegler et al. (2019): after a batch of n episodes with mean
// KL(π ‖ π_ref) = kl,   e = clip(kl / target − 1, −0.2, 0.2),   β ← β (1 + e · n / horizon).
class AdaptiveKL {
 public:
  AdaptiveKL(double initial, double target, double horizon) : value_(initial), target_(target), horizon_(horizon) {
    if (!(initial >= 0)) fail("AdaptiveKL: the initial coefficient must be >= 0, got ", initial);
    if (!(target > 0)) fail("AdaptiveKL: the target KL must be positive, got ", target);
    if (!(horizon > 0)) fail("AdaptiveKL: the horizon must be positive, got ", horizon);
  }
  double value() const { return value_; }
  void set_value(double v) { value_ = v; }
  double update(double kl, std::int64_t episodes) {
    const double e = std::clamp(kl / target_ - 1, -0.2, 0.2);
    value_ *= 1 + e * double(episodes) / horizon_;
    return value_;
  }

 private:
  double value_, target_, horizon_;
};

}  // namespace rlhf::loss
