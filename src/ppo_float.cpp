// rlhf::compiled: the PPO trainer in float on the CPU.
#include "rlhf/backend/cpu.hpp"
#include "rlhf/train/ppo.hpp"

namespace rlhf::train {
template class PPOTrainer<float, cpu>;
}  // namespace rlhf::train
