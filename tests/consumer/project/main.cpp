// The consumer project's program: one Linear-layer forward pass on the CPU backend.
#include <rlhf/rlhf.hpp>

#include <cmath>
#include <cstdio>

int main() {
  using rlhf::cpu;
  using rlhf::Tensor;
  const Tensor<float, cpu> a({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor<float, cpu> w({3, 2}, {1, 0, 0, 1, 1, 1});  // [in, out], GPT-2's Conv1D layout
  const Tensor<float, cpu> bias({2}, {0.5f, -0.5f});
  Tensor<float, cpu> out({2, 2});
  rlhf::matmul_forward(cpu{}, out.view(), a.cview(), w.cview(), bias.cview(), rlhf::WeightLayout::in_out);

  const float want[2][2] = {{4.5f, 4.5f}, {10.5f, 10.5f}};
  bool ok = true;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) ok = ok && std::fabs(out(i, j) - want[i][j]) < 1e-5f;
  std::printf("rlhf %s consumer: a[2,3] . w[3,2] + b = [[%g, %g], [%g, %g]] %s\n", RLHF_VERSION_STRING, out(0, 0),
              out(0, 1), out(1, 0), out(1, 1), ok ? "ok" : "WRONG");
  return ok ? 0 : 1;
}
