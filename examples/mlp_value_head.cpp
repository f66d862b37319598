// A component of your own (mlp_value_head.hpp) checked the way the library checks its own: in
// double, its gradients against central differences of its forward, for every parameter and for
// the hidden states it reads, with L = Σ g·v for a fixed random g. Then the same head in float
// on the trunk of a small GPT. Exit code 0 when the gradients agree to 1e-6 (relative), 1 if not.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <rlhf/rlhf.hpp>

#include "mlp_value_head.hpp"

namespace {

using rlhf::cpu;
using rlhf::Shape;
using rlhf::Tensor;

// ‖analytic − numeric‖₂ / max(‖analytic‖₂, ‖numeric‖₂) over the entries of x, by central
// differences of loss() with step 1e-6.
template <class Loss>
double gradient_error(Tensor<double, cpu>& x, const std::vector<double>& analytic, Loss loss) {
  double diff = 0, a2 = 0, n2 = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double saved = x.data()[i], h = 1e-6;
    x.data()[i] = saved + h;
    const double up = loss();
    x.data()[i] = saved - h;
    const double down = loss();
    x.data()[i] = saved;
    const double numeric = (up - down) / (2 * h), a = analytic[std::size_t(i)];
    diff += (a - numeric) * (a - numeric);
    a2 += a * a;
    n2 += numeric * numeric;
  }
  return std::sqrt(diff) / std::max({std::sqrt(a2), std::sqrt(n2), 1e-300});
}

}  // namespace

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);
  const std::int64_t C = 16, H = 24, N = 5;
  MLPValueHead<double, cpu> head(C, H, N);
  head.init_weights(1);
  // Larger weights than the 0.02 initialisation, so that every path carries a visible gradient.
  rlhf::fill_normal(cpu{}, head.parameters().view(), rlhf::PhiloxStream{2, 0}, 0, 0.0, 0.5);
  Tensor<double, cpu> hidden(Shape{N, C}), g(Shape{N});
  rlhf::fill_normal(cpu{}, hidden.view(), rlhf::PhiloxStream{3, 0}, 0, 0.0, 1.0);
  rlhf::fill_normal(cpu{}, g.view(), rlhf::PhiloxStream{4, 0}, 0, 0.0, 1.0);
  auto loss = [&] {
    const auto v = head.forward(hidden.cview());
    double s = 0;
    for (std::int64_t i = 0; i < N; ++i) s += g.data()[i] * v.data()[i];
    return s;
  };

  loss();
  head.zero_grad();
  Tensor<double, cpu> dhidden(Shape{N, C});
  head.backward(g.cview(), dhidden.view(), hidden.cview());
  const double err_params = gradient_error(head.parameters(), head.gradients().to_vector(), loss);
  const double err_hidden = gradient_error(hidden, dhidden.to_vector(), loss);
  std::printf("MLPValueHead (C %lld, H %lld, %lld rows), double: gradient error %.2e (parameters), %.2e (hidden)\n",
              (long long)C, (long long)H, (long long)N, err_params, err_hidden);

  // In float, on the last hidden states of a small GPT: the head reads any [N, C] view.
  rlhf::nn::GPTConfig config;
  config.vocab_size = 257;
  config.n_positions = 16;
  config.n_embd = C;
  config.n_layer = 1;
  config.n_head = 2;
  rlhf::nn::GPT<float, cpu> gpt(config);
  gpt.init_weights(5);
  const Tensor<std::int32_t, cpu> ids(Shape{1, N}, {72, 101, 108, 108, 111});
  const rlhf::View<const float, cpu> hidden_states = gpt.forward(ids.cview());  // [1, N, C]
  MLPValueHead<float, cpu> values(C, H, N);
  values.init_weights(6);
  const auto v = values.forward(hidden_states.reshape({N, C}));
  std::printf("values of \"Hello\" under a fresh GPT:");
  for (std::int64_t i = 0; i < N; ++i) std::printf(" %.5f", double(v.data()[i]));
  std::printf("\n");
  return err_params <= 1e-6 && err_hidden <= 1e-6 ? 0 : 1;
}
