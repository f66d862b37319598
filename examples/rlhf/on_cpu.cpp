// The model-running subcommands on the CPU backend.
#include "commands.hpp"
#include "rlhf/backend/cpu.hpp"

namespace rlhf_cli {

int run_on_cpu(const Command& command, rlhf::MatmulPrecision precision) {
  return run_command(command, rlhf::cpu{precision});
}

}  // namespace rlhf_cli
