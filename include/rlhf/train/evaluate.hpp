#pragma once
// Evaluation of a policy against the SFT policy on held-out prompts, as InstructGPT and Stiennon
// et al. report it: each policy samples one response per prompt (the same sampler draws for
// both), and each response gets
//   gold  the labeler's noise-free score (the "true" preference the reward model learns)
//   rm    the reward model's normalised score (what PPO optimises)
//   kl    log π(y|x) − log π_SFT(y|x) summed over the response tokens, at the sampling
//         temperature: its mean over prompts is an unbiased estimate of KL(π ‖ π_SFT) in nats
// The win rate of the policy over SFT counts, prompt by prompt, a higher gold score as a win and
// an equal one as half a win (AlpacaEval's convention).
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rlhf/backend/staging.hpp"
#include "rlhf/core/sampling.hpp"
#include "rlhf/data/labeler.hpp"
#include "rlhf/data/tokenizer.hpp"
#include "rlhf/generate/generate.hpp"
#include "rlhf/nn/gpt.hpp"
#include "rlhf/nn/reward_model.hpp"
#include "rlhf/train/rollout.hpp"

namespace rlhf::train {

struct EvalConfig {
  std::int64_t prompts = 200;  // the first N held-out prompts (0: all)
  std::int64_t max_new_tokens = 48;
  SamplingParams sampling{1.0, 0, 1.0};
  std::int64_t batch_size = 64;  // prompts sampled together
  std::int64_t samples_in_report = 8;
  std::uint64_t seed = 0;

  // Errors name the fields as `names` does (core/field_names.hpp).
  void validate(const FieldNames& names = FieldNames("EvalConfig")) const {
    const auto n = [&](const auto& field, std::string_view member) { return names(&field, member); };
    sampling.validate(names);
    if (sampling.temperature == 0)
      fail(n(sampling.temperature, "temperature"), " must be > 0 (the KL is measured on samples)");
    if (prompts < 0) fail(n(prompts, "prompts"), " must be >= 0, got ", prompts);
    require_positive(n(max_new_tokens, "max_new_tokens"), max_new_tokens);
    require_positive(n(batch_size, "batch_size"), batch_size);
    if (samples_in_report < 0)
      fail(n(samples_in_report, "samples_in_report"), " must be >= 0, got ", samples_in_report);
  }
};

// Mean and standard error of the mean.
struct MeanSem {
  double mean = 0, sem = 0;
  static MeanSem of(std::span<const double> x) {
    MeanSem m;
    if (x.empty()) return m;
    for (const double v : x) m.mean += v;
    m.mean /= double(x.size());
    if (x.size() < 2) return m;
    double ss = 0;
    for (const double v : x) ss += (v - m.mean) * (v - m.mean);
    m.sem = std::sqrt(ss / double(x.size() - 1) / double(x.size()));
    return m;
  }
};

// One policy's responses to the evaluation prompts and their measures, prompt by prompt.
struct PolicySamples {
  std::vector<std::string> responses;
  std::vector<double> gold, rm, kl;
  std::vector<std::int64_t> lengths;  // response tokens, the EOS included
  std::vector<bool> ended;

  MeanSem gold_score() const { return MeanSem::of(gold); }
  MeanSem rm_score() const { return MeanSem::of(rm); }
  MeanSem kl_to_reference() const { return MeanSem::of(kl); }
  double mean_length() const {
    double s = 0;
    for (const auto n : lengths) s += double(n);
    return lengths.empty() ? 0.0 : s / double(lengths.size());
  }
  double eos_rate() const {
    double s = 0;
    for (const bool e : ended) s += e;
    return ended.empty() ? 0.0 : s / double(ended.size());
  }
};

template <class T, Backend B, data::Tokenizer Tok>
PolicySamples sample_policy(nn::GPT<T, B>& policy, nn::GPT<T, B>& reference, nn::RewardModel<T, B>& rm,
                            const Tok& tokenizer, const data::Labeler& labeler, std::span<const std::string> prompts,
                            const EvalConfig& config) {
  config.validate();
  PolicySamples out;
  GenerationConfig g;
  g.max_new_tokens = config.max_new_tokens;
  g.sampling = config.sampling;
  g.eos_id = tokenizer.eos_id();
  g.pad_id = tokenizer.eos_id();
  const T tau = T(config.sampling.temperature);
  for (std::size_t p0 = 0, batch = 0; p0 < prompts.size(); p0 += std::size_t(config.batch_size), ++batch) {
    const std::size_t p1 = std::min(prompts.size(), p0 + std::size_t(config.batch_size));
    std::vector<std::vector<std::int32_t>> ids;
    for (std::size_t i = p0; i < p1; ++i) {
      ids.push_back(tokenizer.encode(prompts[i]));
      if (ids.back().empty()) fail("sample_policy: evaluation prompt ", i, " is empty");
    }
    g.seed = config.seed + batch;
    const Generation<T> gen = generate(policy, ids, g);
    const std::vector<T> rm_scores = reward_model_scores(rm, gen, g.eos_id);
    // The reference's log-probs of the sampled tokens (position t predicts token t + 1).
    const std::int64_t Bn = gen.tokens.size(0), L = gen.tokens.size(1);
    Tensor<std::int32_t, cpu> targets(Shape{Bn, L});
    for (std::int64_t b = 0; b < Bn; ++b)
      for (std::int64_t t = 0; t < L; ++t) targets(b, t) = t + 1 < L ? gen.tokens(b, t + 1) : g.pad_id;
    Tensor<std::int32_t, B> ids_s, pos_s, tgt_s;
    Tensor<T, B> attn_s, ref_logp(Shape{Bn, L});
    reference.forward(on_backend<B>(gen.tokens.cview(), ids_s), on_backend<B>(gen.positions.cview(), pos_s),
                      on_backend<B>(gen.attention_mask.cview(), attn_s));
    reference.logprobs(ref_logp.view(), on_backend<B>(targets.cview(), tgt_s), tau);
    std::vector<T> ref(static_cast<std::size_t>(ref_logp.numel()));
    B::copy_to_host(ref.data(), ref_logp.data(), ref_logp.bytes());
    for (std::int64_t b = 0; b < Bn; ++b) {
      bool ended = false;
      const std::vector<std::int32_t> response = gen.response(b, g.eos_id, &ended);
      const std::string text = tokenizer.decode(response);
      double kl = 0;
      for (std::int64_t t = 1; t < L; ++t)
        if (gen.response_mask(b, t) != T(0)) kl += double(gen.logprobs(b, t)) - double(ref[std::size_t(b * L + t - 1)]);
      out.responses.push_back(text);
      out.gold.push_back(labeler.score(prompts[p0 + std::size_t(b)], text));
      out.rm.push_back(double(rm_scores[std::size_t(b)]));
      out.kl.push_back(kl);
      out.lengths.push_back(gen.response_lengths[std::size_t(b)]);
      out.ended.push_back(ended);
    }
  }
  return out;
}

struct WinRate {
  std::int64_t wins = 0, ties = 0, losses = 0;
  std::int64_t n() const { return wins + ties + losses; }
  double rate() const { return n() ? (double(wins) + 0.5 * double(ties)) / double(n()) : 0.0; }
};

// Prompt by prompt: does `policy`'s gold score beat `baseline`'s?
inline WinRate win_rate(std::span<const double> policy, std::span<const double> baseline) {
  if (policy.size() != baseline.size()) fail("win_rate: ", policy.size(), " scores against ", baseline.size());
  WinRate w;
  for (std::size_t i = 0; i < policy.size(); ++i) {
    if (policy[i] > baseline[i]) ++w.wins;
    else if (policy[i] < baseline[i]) ++w.losses;
    else ++w.ties;
  }
  return w;
}

}  // namespace rlhf::train

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/data/any_tokenizer.hpp"
namespace rlhf::train {
extern template PolicySamples sample_policy(nn::GPT<float, cpu>&, nn::GPT<float, cpu>&, nn::RewardModel<float, cpu>&,
                                            const data::AnyTokenizer&, const data::Labeler&,
                                            std::span<const std::string>, const EvalConfig&);
}  // namespace rlhf::train
#endif
