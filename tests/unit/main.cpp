#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "rlhf/backend/cpu/openblas_kernels.hpp"

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_openblas(argv);
  return doctest::Context(argc, argv).run();
}
