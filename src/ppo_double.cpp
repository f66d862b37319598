// rlhf::compiled: the PPO trainer in double on the CPU.
#include "rlhf/backend/cpu.hpp"
#include "rlhf/train/ppo.hpp"

namespace rlhf::train {
template class PPOTrainer<double, cpu>;
}  // namespace rlhf::train
