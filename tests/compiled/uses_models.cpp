// Compiled once per mode by tests/CMakeLists.txt (rlhf::compiled and header-only), never linked:
// check_symbols.cmake reads the object files. Taking a function's address makes a header-only
// translation unit emit it, so the header-only object must define each of these, and the compiled
// one must only refer to them (the library holds them).
#include "rlhf/rlhf.hpp"

using rlhf::cpu;

// External linkage: the array, and so each function it points to, must be emitted.
extern const void* const functions[];
const void* const functions[] = {
    reinterpret_cast<const void*>(&rlhf::nn::GPT<float, cpu>::init_weights),
    reinterpret_cast<const void*>(&rlhf::nn::RewardModel<double, cpu>::init_weights),
    reinterpret_cast<const void*>(&rlhf::train::SFTTrainer<float, cpu>::step_count),
    reinterpret_cast<const void*>(&rlhf::train::PPOTrainer<float, cpu>::kl_coef),
    reinterpret_cast<const void*>(&rlhf::train::Pipeline<float, cpu>::config),
    reinterpret_cast<const void*>(&rlhf::io::load_gpt<float, cpu>),
};
