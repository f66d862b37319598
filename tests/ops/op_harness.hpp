// The harness of the op table (op_table.hpp), in the manner of ggml's test-backend-ops: an op
// declares its tensors (Spec) and runs its kernels on any backend (forward, and backward when it
// has one); the harness builds the tensors from the same host values on each backend and checks
//   - parity: every output and updated state on backend B against the CPU backend's, within the
//     row's tolerance for T (0: bit for bit);
//   - gradients (double): every input that has a gradient state "d<name>" against central
//     differences of Σ upstream · output over the op's forward, run on B itself; the gradient
//     state starts non-zero, so the check also proves that backward accumulates.
// Free of Eigen and of any one backend, so nvcc compiles it for the CUDA backend as g++ does for
// the CPU and thrust_omp.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "rlhf/core/philox.hpp"
#include "rlhf/core/tensor.hpp"

namespace ops {

using rlhf::Shape;

enum class Role {
  input,     // values given; differentiated if a state "d<name>" exists
  constant,  // values given, never differentiated (masks)
  ids,       // int32 values given
  output,    // written by forward (starts at zero)
  tokens,    // int32, written by forward
  state,     // values given, updated in place (gradients, optimizer moments), compared
  upstream,  // "d<output>": the gradient arriving at an output; values given, not compared
  scratch,   // workspace a kernel writes; not compared
};

struct Spec {
  std::string name;
  Role role;
  Shape shape;
  std::vector<double> values = {};     // for input, constant, state, upstream (empty: zeros)
  std::vector<std::int32_t> ids = {};  // for ids
};

// count normal draws of standard deviation `scale`, reproducible from the seed.
inline std::vector<double> normal(std::uint64_t seed, double scale, std::int64_t count) {
  const rlhf::PhiloxStream rng{seed, 0};
  std::vector<double> v(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * rng.normal(i);
  return v;
}

// The tensors of one op on backend B, by name.
template <class T, class B>
class Tensors {
 public:
  explicit Tensors(const std::vector<Spec>& specs) {
    for (const Spec& s : specs) {
      if (s.role == Role::ids || s.role == Role::tokens) {
        std::vector<std::int32_t> v = s.ids;
        v.resize(static_cast<std::size_t>(s.shape.numel()), 0);
        ints_.emplace(s.name, rlhf::Tensor<std::int32_t, B>(s.shape, std::span<const std::int32_t>(v)));
      } else {
        std::vector<T> v(static_cast<std::size_t>(s.shape.numel()), T(0));
        for (std::size_t i = 0; i < s.values.size() && i < v.size(); ++i) v[i] = T(s.values[i]);
        floats_.emplace(s.name, rlhf::Tensor<T, B>(s.shape, std::span<const T>(v)));
      }
    }
  }

  rlhf::View<T, B> out(const std::string& name) { return at(floats_, name).view(); }
  rlhf::View<const T, B> in(const std::string& name) const { return at(floats_, name).cview(); }
  rlhf::View<std::int32_t, B> tokens(const std::string& name) { return at(ints_, name).view(); }
  rlhf::View<const std::int32_t, B> ids(const std::string& name) const { return at(ints_, name).cview(); }
  // A one-element tensor's value on the host (a kernel's scalar argument or result).
  T scalar(const std::string& name) const { return at(floats_, name).to_vector().at(0); }
  void set_scalar(const std::string& name, T value) {
    auto& t = at(floats_, name);
    t = rlhf::Tensor<T, B>(t.shape(), std::span<const T>(&value, 1));
  }

  std::vector<double> host(const std::string& name) const {
    if (ints_.count(name)) {
      const auto v = ints_.at(name).to_vector();
      return {v.begin(), v.end()};
    }
    const auto v = at(floats_, name).to_vector();
    return {v.begin(), v.end()};
  }

 private:
  template <class M>
  static auto& at(M& m, const std::string& name) {
    const auto it = m.find(name);
    REQUIRE_MESSAGE(it != m.end(), "the op has no tensor named " << name);
    return it->second;
  }
  std::map<std::string, rlhf::Tensor<T, B>> floats_;
  std::map<std::string, rlhf::Tensor<std::int32_t, B>> ints_;
};

// What an op row may declare beyond specs/forward: backward, a gradient check, tolerances.
template <class Op, class T, class B>
concept has_backward = requires(const Op& op, const B& be, Tensors<T, B>& t) {
  op.backward(be, t);
};

struct Tolerance {
  double for_float = 1e-5, for_double = 1e-12;  // 0: bit for bit
  template <class T>
  double of() const {
    return std::is_same_v<T, float> ? for_float : for_double;
  }
};

// The largest |a − b| / max(1, |b|).
inline double max_rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double e = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
    if (!std::isnan(a[i])) e = std::max(e, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  }
  return e;
}

template <class T, class B, class Op>
Tensors<T, B> run(const B& be, const Op& op, const std::vector<Spec>& specs) {
  Tensors<T, B> t(specs);
  op.forward(be, t);
  if constexpr (has_backward<Op, T, B>) op.backward(be, t);
  return t;
}

// Backend B's results against the reference backend R's for one row.
template <class T, class B, class R, class Op>
void check_parity(const B& be, const R& ref, const Op& op) {
  const std::vector<Spec> specs = op.specs();
  const Tensors<T, B> got = run<T>(be, op, specs);
  const Tensors<T, R> want = run<T>(ref, op, specs);
  const double tol = op.tolerance().template of<T>();
  for (const Spec& s : specs) {
    CAPTURE(s.name);
    if (s.role == Role::output || s.role == Role::state) {
      const double e = max_rel_error(got.host(s.name), want.host(s.name));
      if (tol == 0) CHECK(got.host(s.name) == want.host(s.name));
      else CHECK(e <= tol);
    } else if (s.role == Role::tokens) {
      op.compare_tokens(s.name, got, want);
    }
  }
}

// Σ over every (output o, upstream "d<o>") pair of upstream · o.
template <class T, class B>
double objective(const std::vector<Spec>& specs, const Tensors<T, B>& t) {
  double sum = 0;
  for (const Spec& s : specs)
    if (s.role == Role::upstream && s.name.size() > 1) {
      const std::vector<double> u = t.host(s.name), o = t.host(s.name.substr(1));
      for (std::size_t i = 0; i < u.size(); ++i) sum += u[i] * o[i];
    }
  return sum;
}

// backward's gradients (their increase over the initial state) against central differences of
// the objective, at every `stride`-th element of each differentiated input, in double on B.
template <class B, class Op>
void check_gradients(const B& be, const Op& op) {
  std::vector<Spec> specs = op.specs();
  const Tensors<double, B> base = run<double>(be, op, specs);
  const double h = 1e-5, tol = op.gradient_tolerance();
  int checked = 0;
  for (Spec& x : specs) {
    if (x.role != Role::input) continue;
    const auto grad = std::find_if(specs.begin(), specs.end(), [&](const Spec& s) { return s.name == "d" + x.name; });
    if (grad == specs.end()) continue;
    CAPTURE(x.name);
    const std::vector<double> before = grad->values, after = base.host(grad->name);
    const std::size_t n = after.size(), stride = std::max<std::size_t>(1, n / op.gradient_samples());
    double worst = 0;
    for (std::size_t i = 0; i < n; i += stride) {
      const double saved = x.values[i];
      x.values[i] = saved + h;
      const double plus = objective(specs, [&] {
        Tensors<double, B> t(specs);
        op.forward(be, t);
        return t;
      }());
      x.values[i] = saved - h;
      const double minus = objective(specs, [&] {
        Tensors<double, B> t(specs);
        op.forward(be, t);
        return t;
      }());
      x.values[i] = saved;
      const double analytic = after[i] - (i < before.size() ? before[i] : 0.0);
      worst = std::max(worst, std::abs((plus - minus) / (2 * h) - analytic) / std::max(1.0, std::abs(analytic)));
    }
    CHECK(worst <= tol);
    ++checked;
  }
  CHECK_MESSAGE(checked > 0, "a gradient-checked row must have an input with a gradient state");
}

// Every row of a table (a tuple of op values), in order.
template <class Table, class F>
void for_each_row(const Table& table, F&& f) {
  std::apply([&](const auto&... row) { (f(row), ...); }, table);
}

}  // namespace ops
