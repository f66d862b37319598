// rlhf::compiled, CUDA build: the pipeline, with its collection and evaluation stages, in float
// on the CUDA backend.
#include "rlhf/backend/cuda.hpp"
#include "rlhf/train/collect.hpp"
#include "rlhf/train/evaluate.hpp"
#include "rlhf/train/pipeline.hpp"

namespace rlhf::train {
template class Pipeline<float, cuda>;
template std::vector<Comparison> collect_comparisons(nn::GPT<float, cuda>&, const data::AnyTokenizer&, const data::Labeler&,
                                                     std::span<const std::string>, const CollectConfig&, CollectStats*);
template PolicySamples sample_policy(nn::GPT<float, cuda>&, nn::GPT<float, cuda>&, nn::RewardModel<float, cuda>&,
                                     const data::AnyTokenizer&, const data::Labeler&, std::span<const std::string>,
                                     const EvalConfig&);
}  // namespace rlhf::train
