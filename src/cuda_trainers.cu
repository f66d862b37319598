// rlhf::compiled, CUDA build: the SFT, reward-model and PPO trainers in float on the CUDA backend.
#include "rlhf/backend/cuda.hpp"
#include "rlhf/train/ppo.hpp"
#include "rlhf/train/reward.hpp"
#include "rlhf/train/sft.hpp"

namespace rlhf::train {
template class SFTTrainer<float, cuda>;
template class RewardTrainer<float, cuda>;
template std::vector<float> raw_rewards(nn::RewardModel<float, cuda>&, std::span<const std::vector<std::int32_t>>,
                                        std::span<const std::int64_t>, std::int32_t, std::int64_t);
template class PPOTrainer<float, cuda>;
}  // namespace rlhf::train
