#pragma once
// Elementwise kernels written once as Thrust algorithms over __host__ __device__ functors:
// GELU (tanh form) forward and backward, the residual connection, the AdamW update, and the
// gradient-norm pair Σ x² (in double, as on the CPU) and x ← factor · x. The CUDA
// backend runs them on its stream and thrust_omp on OpenMP threads (backend/thrust/elementwise.hpp),
// which is how the tests check them on machines without a GPU (tests/portable).
//
// Each function takes a Thrust execution policy and raw pointers of the policy's memory space;
// the formulas are those of the CPU kernels (backend/cpu/gelu.hpp, residual.hpp, adamw.hpp),
// backward kernels accumulate (+=) like theirs.
#include <math.h>

#include <cmath>
#include <cstdint>

#include <thrust/for_each.h>
#include <thrust/functional.h>
#include <thrust/transform_reduce.h>
#include <thrust/iterator/counting_iterator.h>

#include "rlhf/backend/adamw_step.hpp"
#include "rlhf/core/host_device.hpp"

namespace rlhf::portable {

namespace detail {
// The C library's functions by type: callable in host and device code alike.
RLHF_HOST_DEVICE inline float tanh_of(float x) { return ::tanhf(x); }
RLHF_HOST_DEVICE inline double tanh_of(double x) { return ::tanh(x); }
RLHF_HOST_DEVICE inline float sqrt_of(float x) { return ::sqrtf(x); }
RLHF_HOST_DEVICE inline double sqrt_of(double x) { return ::sqrt(x); }

template <class T>
RLHF_HOST_DEVICE inline T gelu_tanh_arg(T x) {
  return T(0.7978845608028654) * (x + T(0.044715) * x * x * x);  // √(2/π) (x + 0.044715 x³)
}
}  // namespace detail

// Runs f(i) for i in [0, n).
template <class Policy, class F>
void for_each_index(const Policy& policy, std::int64_t n, F f) {
  if (n > 0) thrust::for_each_n(policy, thrust::counting_iterator<std::int64_t>(0), n, f);
}

template <class T>
struct GeluForward {
  T* out;
  const T* x;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    const T v = x[i];
    out[i] = T(0.5) * v * (T(1) + detail::tanh_of(detail::gelu_tanh_arg(v)));
  }
};

// dx += dout · [½ (1 + tanh u) + ½ x (1 − tanh² u) √(2/π) (1 + 3·0.044715 x²)]
template <class T>
struct GeluBackward {
  T* dx;
  const T* dout;
  const T* x;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    const T v = x[i], t = detail::tanh_of(detail::gelu_tanh_arg(v));
    dx[i] += dout[i] * (T(0.5) * (T(1) + t) +
                        T(0.5) * v * (T(1) - t * t) * T(0.7978845608028654) * (T(1) + T(3) * T(0.044715) * v * v));
  }
};

template <class T>
struct ResidualForward {
  T* out;
  const T* a;
  const T* b;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const { out[i] = a[i] + b[i]; }
};

template <class T>
struct ResidualBackward {
  T* da;
  T* db;
  const T* dout;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    da[i] += dout[i];
    db[i] += dout[i];
  }
};

// p ← p (1 − lr λ) − lr (m / c1) / (√(v / c2) + ε), after the moments' update.
template <class T>
struct AdamWUpdate {
  T* param;
  const T* grad;
  T* m;
  T* v;
  T lr, b1, b2, eps, decay, inv_c1, inv_sqrt_c2;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const {
    const T g = grad[i];
    const T mi = m[i] = b1 * m[i] + (T(1) - b1) * g;
    const T vi = v[i] = b2 * v[i] + (T(1) - b2) * g * g;
    param[i] = param[i] * decay - lr * (mi * inv_c1) / (detail::sqrt_of(vi) * inv_sqrt_c2 + eps);
  }
};

template <class Policy, class T>
void gelu_forward(const Policy& policy, T* out, const T* x, std::int64_t n) {
  for_each_index(policy, n, GeluForward<T>{out, x});
}

template <class Policy, class T>
void gelu_backward(const Policy& policy, T* dx, const T* dout, const T* x, std::int64_t n) {
  for_each_index(policy, n, GeluBackward<T>{dx, dout, x});
}

template <class Policy, class T>
void residual_forward(const Policy& policy, T* out, const T* a, const T* b, std::int64_t n) {
  for_each_index(policy, n, ResidualForward<T>{out, a, b});
}

template <class Policy, class T>
void residual_backward(const Policy& policy, T* da, T* db, const T* dout, std::int64_t n) {
  for_each_index(policy, n, ResidualBackward<T>{da, db, dout});
}

template <class Policy, class T>
void adamw_update(const Policy& policy, T* param, const T* grad, T* m, T* v, std::int64_t n, const AdamWStep& s) {
  const AdamWUpdate<T> f{param,
                         grad,
                         m,
                         v,
                         T(s.lr),
                         T(s.beta1),
                         T(s.beta2),
                         T(s.eps),
                         T(1 - s.lr * s.weight_decay),
                         T(1 / s.bias_correction1),
                         T(1 / std::sqrt(s.bias_correction2))};
  for_each_index(policy, n, f);
}

template <class T>
struct SquareInDouble {
  RLHF_HOST_DEVICE double operator()(T v) const { return double(v) * double(v); }
};

template <class T>
struct Scale {
  T* x;
  T factor;
  RLHF_HOST_DEVICE void operator()(std::int64_t i) const { x[i] *= factor; }
};

// Σ x², accumulated in double whatever T is (a float sum over 10^8 gradients loses digits).
template <class Policy, class T>
double sum_of_squares(const Policy& policy, const T* x, std::int64_t n) {
  if (n <= 0) return 0;
  return thrust::transform_reduce(policy, x, x + n, SquareInDouble<T>{}, 0.0, thrust::plus<double>());
}

template <class Policy, class T>
void scale(const Policy& policy, T* x, std::int64_t n, T factor) {
  for_each_index(policy, n, Scale<T>{x, factor});
}

}  // namespace rlhf::portable
