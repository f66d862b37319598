#pragma once
// Finite-difference gradient checks for kernels, after ggml's test-backend-ops.
//
// A check is given, in double precision:
//   - the differentiable inputs, as tensors the harness may perturb in place;
//   - loss(): runs the forward kernel(s) on the current inputs (refreshing every cache that
//     backward reads: lse, mean/rstd, att, ...) and returns a scalar L, usually Σ g·y with a
//     fixed random upstream gradient g;
//   - backward(grads): calls the backward kernel with g, accumulating dL/dinput[i] into grads[i].
// For every input it compares the analytic gradient with central differences
//   (L(x + eps·e_i) - L(x - eps·e_i)) / (2 eps)
// by ||analytic - numeric||₂ / max(||analytic||₂, ||numeric||₂, tiny) <= tolerance, and checks
// that backward accumulates: a gradient buffer pre-filled with c ends as c + grad.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "omp_threads.hpp"
#include "below_training.hpp"

namespace gradcheck {

using Tensor = rlhf::Tensor<double, rlhf::cpu>;
using GradView = rlhf::View<double, rlhf::cpu>;

// A tensor of N(0, std²) draws; each seed is its own Philox stream, so inputs are reproducible.
inline Tensor randn(rlhf::Shape shape, std::uint64_t seed, double std = 1.0) {
  Tensor t(shape);
  rlhf::fill_normal(rlhf::cpu{}, t.view(), rlhf::PhiloxStream{seed, 0}, 0, 0.0, std);
  return t;
}

// Σ a·b over all elements: the loss Σ g·y whose gradient with respect to y is g.
inline double dot(const Tensor& a, const Tensor& b) {
  REQUIRE(a.numel() == b.numel());
  double s = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) s += a.data()[i] * b.data()[i];
  return s;
}

inline double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// ||a - b||₂ / max(||a||₂, ||b||₂, 1e-6): relative for real gradients; for a gradient that must
// vanish (both norms below 1e-6) an absolute bound, since central differences of a constant
// loss still carry round-off of about 1e-16 · |L| / eps.
inline double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> diff(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) diff[i] = a[i] - b[i];
  return norm(diff) / std::max({norm(a), norm(b), 1e-6});
}

inline bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

struct Input {
  std::string name;
  Tensor* value;
};

struct Options {
  double eps = 1e-5;                    // central differences: truncation ~eps², round-off ~1e-16·|L|/eps
  double tolerance = 1e-6;              // on the relative error of the whole gradient
  double accumulate_tolerance = 1e-12;  // (c + grad) - c against grad: only round-off differs
};

// Finite differences run on one OpenMP thread (OmpThreads one_thread(1)): they call thousands of
// tiny forwards, and on a loaded machine a parallel region's start and barrier cost far more
// than their work. Forward results do not depend on the thread count, so nothing is lost;
// backward, whose reductions do depend on it, still runs on the full team.

// Central-difference gradient of loss() with respect to every element of x (restored after).
inline std::vector<double> numeric_gradient(Tensor& x, const std::function<double()>& loss, double eps) {
  const testing::OmpThreads one_thread(1);
  std::vector<double> grad(static_cast<std::size_t>(x.numel()));
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double saved = x.data()[i];
    x.data()[i] = saved + eps;
    const double plus = loss();
    x.data()[i] = saved - eps;
    const double minus = loss();
    x.data()[i] = saved;
    grad[static_cast<std::size_t>(i)] = (plus - minus) / (2 * eps);
  }
  return grad;
}

// Runs backward once into gradient buffers holding `start` (one tensor per input, same shapes);
// returns the buffers' final contents.
inline std::vector<std::vector<double>> run_backward(const std::vector<Input>& inputs,
                                                     const std::function<double()>& loss,
                                                     const std::function<void(std::vector<GradView>&)>& backward,
                                                     const std::vector<Tensor>& start) {
  loss();  // the caches must describe the unperturbed inputs
  std::vector<Tensor> grads;
  std::vector<GradView> views;
  for (std::size_t k = 0; k < inputs.size(); ++k) grads.push_back(start[k].clone());
  for (Tensor& g : grads) views.push_back(g.view());
  backward(views);
  std::vector<std::vector<double>> out;
  for (const Tensor& g : grads) out.push_back(g.to_vector());
  return out;
}

// The whole check; reports through doctest (CHECK), naming the input that failed.
inline void check_gradients(const std::vector<Input>& inputs, const std::function<double()>& loss,
                            const std::function<void(std::vector<GradView>&)>& backward, Options opt = {}) {
  std::vector<Tensor> zeros, prefill;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    zeros.emplace_back(inputs[k].value->shape());
    prefill.push_back(randn(inputs[k].value->shape(), 0xacc0 + k));
  }
  const auto analytic = run_backward(inputs, loss, backward, zeros);

  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const std::vector<double> numeric = numeric_gradient(*inputs[k].value, loss, opt.eps);
    const double err = relative_error(analytic[k], numeric);
    INFO("d", inputs[k].name, ": relative error ", err, " (|analytic| ", norm(analytic[k]), ", |numeric| ",
         norm(numeric), ")");
    CHECK(all_finite(analytic[k]));
    CHECK(err <= opt.tolerance);
  }

  // Accumulation: backward into c must give c + grad, so micro-batches and shared weights add up.
  // Round-off in c + grad is relative to |c| as well as |grad|, hence the wider denominator.
  const auto accumulated = run_backward(inputs, loss, backward, prefill);
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const std::vector<double> c = prefill[k].to_vector();
    std::vector<double> surplus(c.size());  // (c + backward) - c - grad: zero when it accumulates
    for (std::size_t i = 0; i < c.size(); ++i) surplus[i] = accumulated[k][i] - c[i] - analytic[k][i];
    const double err = norm(surplus) / std::max({norm(analytic[k]), norm(c), 1e-300});
    INFO("d", inputs[k].name, " does not accumulate: |(c + backward) - c - grad| / max(|grad|, |c|) = ", err);
    CHECK(err <= opt.accumulate_tolerance);
  }
}

// Central differences over every element of a model's parameter buffer against the analytic
// gradient in its gradient buffer (filled by the caller's backward); returns
// ||analytic - numeric|| / max(||analytic||, ||numeric||).
template <class Loss>
double whole_model_error(Tensor& parameters, const Tensor& gradients, Loss&& loss, double eps = 1e-5) {
  double* params = parameters.data();
  const double* grads = gradients.data();
  double diff2 = 0, a2 = 0, n2 = 0;
  for (std::int64_t i = 0; i < parameters.numel(); ++i) {
    const double saved = params[i];
    params[i] = saved + eps;
    const double plus = loss();
    params[i] = saved - eps;
    const double minus = loss();
    params[i] = saved;
    const double numeric = (plus - minus) / (2 * eps);
    diff2 += (numeric - grads[i]) * (numeric - grads[i]);
    a2 += grads[i] * grads[i];
    n2 += numeric * numeric;
  }
  return std::sqrt(diff2) / std::max(std::sqrt(std::max(a2, n2)), 1e-300);
}

}  // namespace gradcheck
