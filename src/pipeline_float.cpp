// rlhf::compiled: the pipeline, with its collection and evaluation stages, in float on the CPU.
#include "rlhf/backend/cpu.hpp"
#include "rlhf/train/collect.hpp"
#include "rlhf/train/evaluate.hpp"
#include "rlhf/train/pipeline.hpp"

namespace rlhf::train {
template class Pipeline<float, cpu>;
template std::vector<Comparison> collect_comparisons(nn::GPT<float, cpu>&, const data::AnyTokenizer&,
                                                     const data::Labeler&, std::span<const std::string>,
                                                     const CollectConfig&, CollectStats*);
template PolicySamples sample_policy(nn::GPT<float, cpu>&, nn::GPT<float, cpu>&, nn::RewardModel<float, cpu>&,
                                     const data::AnyTokenizer&, const data::Labeler&, std::span<const std::string>,
                                     const EvalConfig&);
}  // namespace rlhf::train
