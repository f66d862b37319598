// The op table (tests/ops/op_table.hpp) on the host's backends: every gradient-checked row on the CPU
// backend and on thrust_omp (the CUDA backend's Thrust kernels on OpenMP threads), in double;
// every row on thrust_omp against the CPU backend, float and double; and every bad input giving
// thrust_omp the CPU backend's error, word for word. tests/cuda/test_cuda_ops.cu runs the same
// table on the GPU.
#include <doctest/doctest.h>

#include "../unit/error_of.hpp"
#include "../ops/op_table.hpp"
#include "rlhf/backend/cpu.hpp"
#include "rlhf/backend/thrust_omp.hpp"

TEST_CASE("op table: gradients of the CPU backend's kernels against finite differences (double)") {
  ops::for_each_row(ops::table(), [](const auto& op) {
    if (!op.gradient_check) return;
    INFO(op.name());
    ops::check_gradients(rlhf::cpu{}, op);
  });
}

TEST_CASE("op table: gradients of thrust_omp's kernels against finite differences (double)") {
  ops::for_each_row(ops::table(), [](const auto& op) {
    if (!op.gradient_check) return;
    INFO(op.name());
    ops::check_gradients(rlhf::thrust_omp{}, op);
  });
}

TEST_CASE_TEMPLATE("op table: thrust_omp equals the CPU backend", T, float, double) {
  ops::for_each_row(ops::table(), [](const auto& op) {
    INFO(op.name());
    ops::check_parity<T>(rlhf::thrust_omp{}, rlhf::cpu{}, op);
  });
}

TEST_CASE("op table: thrust_omp gives the CPU backend's errors for bad input") {
  const std::vector<std::string> what = ops::bad_inputs();
  for (std::size_t i = 0; i < what.size(); ++i) {
    INFO(what[i]);
    const std::string want = testing::error_of([&] { ops::call_bad_input(rlhf::cpu{}, i); });
    CHECK(want != "(no error)");
    CHECK(testing::error_of([&] { ops::call_bad_input(rlhf::thrust_omp{}, i); }) == want);
  }
}
