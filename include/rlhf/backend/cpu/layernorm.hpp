#pragma once
// LayerNorm over the last dimension C: out = (x - mean) * rstd * w + b, with mean and rstd
// (1 / sqrt(var + eps), biased variance as in PyTorch) kept for backward.
//   x, out: [N, C] (any rank, flattened)   w, b: [C]   mean, rstd: [N]
#include <cmath>
#include <vector>

#include "rlhf/backend/cpu/eigen.hpp"
#include "rlhf/backend/cpu/parallel.hpp"
#include "rlhf/backend/kernel_checks.hpp"

namespace rlhf {

template <class T>
void layernorm_forward(const cpu&, View<T, cpu> out, View<T, cpu> mean, View<T, cpu> rstd, In<T, cpu> x, In<T, cpu> w,
                       In<T, cpu> b, T eps) {
  check::same("layernorm_forward", "out", out, "x", x);
  const std::int64_t C = check::layernorm("layernorm_forward", x, w, b, mean, rstd);
  const std::int64_t N = mean.numel();
  const T* W = w.data();
  const T* B = b.data();
#pragma omp parallel for schedule(static) if (N * C >= cpu_detail::min_parallel_work)
  for (std::int64_t i = 0; i < N; ++i) {
    // Eigen's reductions vectorise; a scalar `m += x[j]` chain does not (no reassociation).
    const cpu_detail::RowArray<T> xi(x.data() + i * C, C);
    const T m = xi.mean();
    const T s = T(1) / std::sqrt((xi - m).square().mean() + eps);
    cpu_detail::MutRowArray<T>(out.data() + i * C, C) =
        (xi - m) * s * cpu_detail::RowArray<T>(W, C) + cpu_detail::RowArray<T>(B, C);
    mean.data()[i] = m;
    rstd.data()[i] = s;
  }
}

// dx += rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dout * w;  dw += Σ dout * xhat;  db += Σ dout.
template <class T>
void layernorm_backward(const cpu&, View<T, cpu> dx, View<T, cpu> dw, View<T, cpu> db, In<T, cpu> dout, In<T, cpu> x,
                        In<T, cpu> w, In<T, cpu> mean, In<T, cpu> rstd) {
  const std::int64_t C = check::layernorm_backward_args("layernorm_backward", dx, dw, db, dout, x, w, mean, rstd);
  const std::int64_t N = mean.numel();
  // dx rows are independent; dw and db are sums over rows: each thread sums its chunk of rows
  // (run_chunks) into its own slot, and the slots are added in thread order afterwards, so the
  // bits depend on the thread count only, never on which thread finishes first.
  const bool threaded = N * C >= cpu_detail::min_parallel_work;
  thread_local std::vector<T> slots;  // [team][dw | db], the calling thread's, kept between calls
  const auto most = static_cast<std::size_t>(threaded ? cpu_detail::max_threads() : 1);
  if (slots.size() < most * 2 * std::size_t(C)) slots.resize(most * 2 * std::size_t(C));
  T* const slot = slots.data();
  const std::int64_t team = cpu_detail::run_chunks(N, threaded, [&](std::int64_t t, std::int64_t i0, std::int64_t i1) {
    using Row = Eigen::Array<T, Eigen::Dynamic, 1>;
    cpu_detail::MutRowArray<T> dw_t(slot + 2 * C * t, C), db_t(slot + 2 * C * t + C, C);
    dw_t.setZero();
    db_t.setZero();
    Row xhat(C), g(C);
    const cpu_detail::RowArray<T> W(w.data(), C);
    for (std::int64_t i = i0; i < i1; ++i) {
      const cpu_detail::RowArray<T> xi(x.data() + i * C, C), gi(dout.data() + i * C, C);
      const T s = rstd.data()[i];
      xhat = (xi - mean.data()[i]) * s;
      g = gi * W;
      const T g_mean = g.mean(), gx_mean = (g * xhat).mean();
      dw_t += gi * xhat;
      db_t += gi;
      cpu_detail::MutRowArray<T>(dx.data() + i * C, C) += s * (g - g_mean - xhat * gx_mean);
    }
  });
  cpu_detail::MutRowArray<T> dW(dw.data(), C), dB(db.data(), C);
  for (std::int64_t t = 0; t < team; ++t) {
    dW += cpu_detail::RowArray<T>(slot + 2 * C * t, C);
    dB += cpu_detail::RowArray<T>(slot + 2 * C * t + C, C);
  }
}

}  // namespace rlhf
