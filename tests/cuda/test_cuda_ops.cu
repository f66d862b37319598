// The op table (tests/ops/op_table.hpp) on the GPU: every row on the CUDA backend against the CPU
// backend, float and double; every gradient-checked row's backward on the GPU against finite
// differences of its forward there (double); every bad input giving the CPU backend's error, word
// for word. tests/portable/test_portable_ops.cpp runs the same table on thrust_omp.
#include <doctest/doctest.h>

#include "../ops/op_table.hpp"
#include "../unit/error_of.hpp"
#include "rlhf/backend/cpu.hpp"
#include "rlhf/backend/cuda.hpp"

namespace test_cuda_ops {

using gpu = rlhf::cuda;  // libcu++ declares a global namespace `cuda`

TEST_CASE_TEMPLATE("op table: the CUDA backend equals the CPU backend", T, float, double) {
  ops::for_each_row(ops::table(), [](const auto& op) {
    INFO(op.name());
    ops::check_parity<T>(gpu{}, rlhf::cpu{}, op);
  });
}

TEST_CASE("op table: gradients of the CUDA backend's kernels against finite differences (double)") {
  ops::for_each_row(ops::table(), [](const auto& op) {
    if (!op.gradient_check) return;
    INFO(op.name());
    ops::check_gradients(gpu{}, op);
  });
}

TEST_CASE("op table: the CUDA backend gives the CPU backend's errors for bad input") {
  const std::vector<std::string> what = ops::bad_inputs();
  for (std::size_t i = 0; i < what.size(); ++i) {
    INFO(what[i]);
    const std::string want = testing::error_of([&] { ops::call_bad_input(rlhf::cpu{}, i); });
    CHECK(want != "(no error)");
    CHECK(testing::error_of([&] { ops::call_bad_input(gpu{}, i); }) == want);
  }
}

}  // namespace test_cuda_ops
