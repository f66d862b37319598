// The model-running subcommands on the CUDA backend (rlhf --backend cuda), on the current device
// and the default stream. Built as the module rlhf_cuda.so beside the rlhf executable, which loads
// it only for --backend cuda (cuda_module.cpp): a run on the CPU never loads the CUDA runtime and
// cuBLAS, whose loading alone takes 0.2-0.5 s. Without a usable GPU it says so before reading
// any input. The rlhf_cli functions it calls (common.cpp) are the executable's, which exports them.
#include "commands.hpp"
#include "rlhf/backend/cuda.hpp"

extern "C" int rlhf_cli_run_on_cuda(const rlhf_cli::Command& command, rlhf::MatmulPrecision precision) {
  if (rlhf::cuda::device_count() == 0) rlhf::fail("--backend cuda: no CUDA device or driver on this machine");
  return rlhf_cli::run_command(command, rlhf::cuda{nullptr, precision});
}
