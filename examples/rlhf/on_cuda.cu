// The model-running subcommands on the CUDA backend (rlhf --backend cuda), on the current device
// and the default stream. Without a usable GPU it says so before reading any input.
#include "commands.hpp"
#include "rlhf/backend/cuda.hpp"

namespace rlhf_cli {

int run_on_cuda(const Command& command, rlhf::MatmulPrecision precision) {
  if (rlhf::cuda::device_count() == 0) fail("--backend cuda: no CUDA device or driver on this machine");
  return run_command(command, rlhf::cuda{nullptr, precision});
}

}  // namespace rlhf_cli
