// rlhf::compiled: the SFT and reward-model trainers in double on the CPU.
#include "rlhf/backend/cpu.hpp"
#include "rlhf/train/reward.hpp"
#include "rlhf/train/sft.hpp"

namespace rlhf::train {
template class SFTTrainer<double, cpu>;
template class RewardTrainer<double, cpu>;
template std::vector<double> raw_rewards(nn::RewardModel<double, cpu>&, std::span<const std::vector<std::int32_t>>,
                                         std::span<const std::int64_t>, std::int32_t, std::int64_t);
}  // namespace rlhf::train
