// rlhf::compiled: the SFT and reward-model trainers in float on the CPU.
#include "rlhf/backend/cpu.hpp"
#include "rlhf/train/reward.hpp"
#include "rlhf/train/sft.hpp"

namespace rlhf::train {
template class SFTTrainer<float, cpu>;
template class RewardTrainer<float, cpu>;
template std::vector<float> raw_rewards(nn::RewardModel<float, cpu>&, std::span<const std::vector<std::int32_t>>,
                                        std::span<const std::int64_t>, std::int32_t, std::int64_t);
}  // namespace rlhf::train
