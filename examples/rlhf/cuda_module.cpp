// rlhf --backend cuda: loads the CUDA subcommands, the module rlhf_cuda.so built beside the
// executable (on_cuda.cu), and runs the command there. Loading it only when asked keeps the CUDA
// runtime and cuBLAS out of every CPU run's start-up.
#include <dlfcn.h>

#include <filesystem>
#include <string>

#include "common.hpp"

namespace rlhf_cli {

int run_on_cuda(const Command& command, rlhf::MatmulPrecision precision) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const fs::path module = (ec ? fs::path(".") : exe.parent_path()) / RLHF_CLI_CUDA_MODULE;
  void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)  // dlerror() names the file
    fail("--backend cuda: cannot load the CUDA backend: ", dlerror(),
         " (it is built beside rlhf in a build with CUDA)");
  using Run = int (*)(const Command&, rlhf::MatmulPrecision);
  const auto run = reinterpret_cast<Run>(dlsym(handle, "rlhf_cli_run_on_cuda"));
  if (!run) fail("--backend cuda: ", module.string(), " has no rlhf_cli_run_on_cuda (", dlerror(), ")");
  return run(command, precision);  // the module stays loaded until the process exits
}

}  // namespace rlhf_cli
