#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "rlhf/backend/cpu/fast_runtime.hpp"

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);
  return doctest::Context(argc, argv).run();
}
