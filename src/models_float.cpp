// rlhf::compiled: the models, their sampler and checkpoints in float on the CPU (the
// `extern template` declarations at the end of each header name the same specializations).
#include "rlhf/backend/cpu.hpp"
#include "rlhf/generate/generate.hpp"
#include "rlhf/io/checkpoint.hpp"
#include "rlhf/io/reward_checkpoint.hpp"
#include "rlhf/nn/gpt.hpp"
#include "rlhf/nn/reward_model.hpp"
#include "rlhf/optim/adamw.hpp"

namespace rlhf {
template class nn::GPT<float, cpu>;
template class nn::RewardModel<float, cpu>;
template class optim::AdamW<float, cpu>;
template Generation<float> generate(nn::GPT<float, cpu>&, const std::vector<std::vector<std::int32_t>>&,
                                    const GenerationConfig&);
template void io::save_gpt(const std::filesystem::path&, const nn::GPT<float, cpu>&, const io::SaveOptions&);
template void io::load_weights(const std::filesystem::path&, nn::GPT<float, cpu>&, io::Heads);
template std::unique_ptr<nn::GPT<float, cpu>> io::load_gpt(const std::filesystem::path&, cpu, nn::Trainable);
template void io::save_reward_model(const std::filesystem::path&, const nn::RewardModel<float, cpu>&, io::SaveOptions);
template void io::load_reward_weights(const std::filesystem::path&, nn::RewardModel<float, cpu>&);
template std::unique_ptr<nn::RewardModel<float, cpu>> io::load_reward_model(const std::filesystem::path&, cpu,
                                                                            nn::Trainable);
template std::unique_ptr<nn::RewardModel<float, cpu>> io::reward_model_from_lm(const std::filesystem::path&,
                                                                               std::uint64_t, cpu);
}  // namespace rlhf
