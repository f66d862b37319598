#pragma once
// Every random draw of the library comes from Philox (core/philox.hpp) under a (seed, stream)
// pair. This table is the one place that says which seed and which stream each use draws from,
// so that no two uses share draws by accident and a run is a pure function of its seeds.
// Changing a value here changes every result that depends on it (the default pipeline's report
// among them).
//
//   use                                   seed                          stream
//   GPT::init_weights, parameter i        the model's seed              i (the parameter's index)
//   generate()                            GenerationConfig::seed        generation_stream
//   validation split                      the trainer's seed            split_stream
//   epoch e's order of the training set   the trainer's seed            epoch_stream + e
//   PPO's order of the prompts            PPO seed                      epoch_stream + e
//   PPO-ptx's order of the SFT data       PPO seed ^ ptx_seed_mask      epoch_stream + e
//   PPO rollout of iteration i            rollout_seed(PPO seed, i)     generation_stream
//   PPO minibatches, iteration i, epoch e PPO seed                      ppo_minibatch_stream(i, e)
//   collection: how many completions      CollectConfig::seed           collect_k_stream
//   collection: the labeler's rankings    CollectConfig::seed           collect_rank_stream
//   collection, prompt batch j            CollectConfig::seed + j       generation_stream
//   evaluation, prompt batch b            EvalConfig::seed + b          generation_stream
//
// The pipeline gives each stage its own seed from the run's (PipelineConfig::seed):
// stage_seed(seed, Stage::sft) ... stage_seed(seed, Stage::eval).
#include <cstdint>

namespace rlhf {

// Streams: 64-bit ids, most of them ASCII tags in the high bytes ("SPLT", "EPOC", ...).
inline constexpr std::uint64_t generation_stream = 0;
inline constexpr std::uint64_t split_stream = 0x53504C54'00000000ull;               // "SPLT"
inline constexpr std::uint64_t epoch_stream = 0x45504F43'00000000ull;               // "EPOC"
inline constexpr std::uint64_t collect_k_stream = 0x434F4C4C4B000000ull;            // "COLLK"
inline constexpr std::uint64_t collect_rank_stream = 0x434F4C4C52000000ull;         // "COLLR"
inline constexpr std::uint64_t ppo_minibatch_stream_base = 0x50504F00'00000000ull;  // "PPO"

// PPO's minibatch order of `epoch` in `iteration` (64 epochs per iteration at most before two
// iterations' streams would meet; PPOConfig allows far fewer).
constexpr std::uint64_t ppo_minibatch_stream(std::int64_t iteration, std::int64_t epoch) {
  return ppo_minibatch_stream_base + std::uint64_t(iteration) * 64 + std::uint64_t(epoch);
}

// Seeds derived from a seed.
inline constexpr std::uint64_t ptx_seed_mask = 0x505458ull;  // "PTX": PPO-ptx's data order
// The sampler's seed for PPO's rollout of `iteration` (0-based): the golden-ratio increment
// spreads consecutive iterations over the seed space.
constexpr std::uint64_t rollout_seed(std::uint64_t seed, std::int64_t iteration) {
  return seed + 0x9E3779B97F4A7C15ull * std::uint64_t(iteration + 1);
}

// The pipeline's stages, and the seed each derives from the run's seed. Offset 1 is unused; the
// offsets enter every run's results, so they stay as they are.
enum class Stage : std::uint64_t { sft = 0, collect = 2, reward = 3, ppo = 4, eval = 5 };
constexpr std::uint64_t stage_seed(std::uint64_t seed, Stage stage) { return seed + std::uint64_t(stage); }

}  // namespace rlhf
