// rlhf::compiled, CUDA build: the models, their sampler and checkpoints in float on the CUDA
// backend (compiled by nvcc; the headers' `extern template` declarations under
// RLHF_COMPILED_CUDA name the same specializations).
#include "rlhf/backend/cuda.hpp"
#include "rlhf/generate/generate.hpp"
#include "rlhf/io/checkpoint.hpp"
#include "rlhf/io/reward_checkpoint.hpp"
#include "rlhf/nn/gpt.hpp"
#include "rlhf/nn/reward_model.hpp"
#include "rlhf/optim/adamw.hpp"

namespace rlhf {
template class nn::GPT<float, cuda>;
template class nn::RewardModel<float, cuda>;
template class optim::AdamW<float, cuda>;
template Generation<float> generate(nn::GPT<float, cuda>&, const std::vector<std::vector<std::int32_t>>&, const GenerationConfig&);
template void io::save_gpt(const std::filesystem::path&, const nn::GPT<float, cuda>&, const io::SaveOptions&);
template void io::load_weights(const std::filesystem::path&, nn::GPT<float, cuda>&, io::Heads);
template std::unique_ptr<nn::GPT<float, cuda>> io::load_gpt(const std::filesystem::path&, cuda, nn::Trainable);
template void io::save_reward_model(const std::filesystem::path&, const nn::RewardModel<float, cuda>&, io::SaveOptions);
template void io::load_reward_weights(const std::filesystem::path&, nn::RewardModel<float, cuda>&);
template std::unique_ptr<nn::RewardModel<float, cuda>> io::load_reward_model(const std::filesystem::path&, cuda, nn::Trainable);
template std::unique_ptr<nn::RewardModel<float, cuda>> io::reward_model_from_lm(const std::filesystem::path&, std::uint64_t, cuda);
}  // namespace rlhf
