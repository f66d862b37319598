// Eigen's OWN GEMM (this translation unit is compiled without EIGEN_USE_BLAS and links only Eigen
// and OpenMP) at the shapes of bench_kernels' matmuls: the second reference peak beside OpenBLAS.
// Row-major maps, as rlhf's CPU kernels use them; forward = one product, backward = the two
// products of matmul_backward (da += dout · Wᵀ, dw += aᵀ · dout), without the bias.
#ifdef EIGEN_USE_BLAS
#error "bench_eigen_gemm measures Eigen's own GEMM: build it without EIGEN_USE_BLAS"
#endif
#include <Eigen/Core>

#include "bench_common.hpp"

namespace {

using namespace rlhf_bench;
using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Mat random_mat(std::int64_t r, std::int64_t c, float lo, float hi, unsigned seed) {
  Mat m(r, c);
  fill_uniform(m.data(), m.size(), lo, hi, seed);
  return m;
}

void register_eigen() {
  for (const GemmShape& g : gemm_shapes()) {
    const double gemm_flops = 2.0 * double(g.M) * double(g.N) * double(g.K);
    benchmark::RegisterBenchmark(("sgemm_eigen/" + gemm_name(g)).c_str(),
                                 [=](benchmark::State& state) {
                                   Mat a = random_mat(g.M, g.K, -1, 1, 1), out(g.M, g.N);
                                   Mat w = g.out_in ? random_mat(g.N, g.K, -0.05f, 0.05f, 2)
                                                    : random_mat(g.K, g.N, -0.05f, 0.05f, 2);
                                   for (auto _ : state) {
                                     if (g.out_in) out.noalias() = a * w.transpose();
                                     else out.noalias() = a * w;
                                     benchmark::DoNotOptimize(out.data());
                                     benchmark::ClobberMemory();
                                   }
                                   set_flops(state, gemm_flops);
                                 })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(
        ("sgemm_eigen_bwd/" + gemm_name(g)).c_str(),
        [=](benchmark::State& state) {
          Mat a = random_mat(g.M, g.K, -1, 1, 1), dout = random_mat(g.M, g.N, -1e-3f, 1e-3f, 4);
          Mat w = g.out_in ? random_mat(g.N, g.K, -0.05f, 0.05f, 2) : random_mat(g.K, g.N, -0.05f, 0.05f, 2);
          Mat da = Mat::Zero(g.M, g.K), dw = Mat::Zero(w.rows(), w.cols());
          for (auto _ : state) {
            if (g.out_in) {
              da.noalias() += dout * w;
              dw.noalias() += dout.transpose() * a;
            } else {
              da.noalias() += dout * w.transpose();
              dw.noalias() += a.transpose() * dout;
            }
            benchmark::DoNotOptimize(dw.data());
            benchmark::ClobberMemory();
          }
          set_flops(state, 2 * gemm_flops);
        })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_eigen();
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
