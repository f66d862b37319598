#pragma once
// Batched generation with a KV cache. Prompts of different lengths are left-padded to a common
// length P, so every row's next token lands in the same column; each row's position ids count
// only its real tokens, and the key mask hides the pads. The prompt is run once (prefill), then
// one token per step; a row stops at its EOS while the others go on.
//
// The result, on the host, covers columns [0, P + steps):
//   tokens          pad | prompt | response (the EOS included) | pad
//   attention_mask  1 on prompt and response tokens
//   response_mask   1 on response tokens
//   positions       position ids, as the model saw them
//   logprobs        at response tokens: log-prob of the token under softmax(logits / τ), the
//                   distribution it was drawn from before top-k / top-p; what a full forward pass
//                   over `tokens` with the same masks and positions gives (GPT::logprobs)
#include <algorithm>
#include <vector>

#include "rlhf/backend/cpu/tag.hpp"
#include "rlhf/core/philox.hpp"
#include "rlhf/core/random_streams.hpp"
#include "rlhf/core/sampling.hpp"
#include "rlhf/nn/gpt.hpp"

namespace rlhf {

struct GenerationConfig {
  std::int64_t max_new_tokens = 64;
  SamplingParams sampling;   // temperature 0 is greedy
  std::int32_t eos_id = -1;  // -1: no end-of-sequence token
  std::int32_t pad_id = 0;   // written where there is no token (masked everywhere)
  std::uint64_t seed = 0;    // Philox seed of the sampler: same seed, same samples
};

template <class T>
struct Generation {
  Tensor<std::int32_t, cpu> tokens, positions;             // [B, P + steps]
  Tensor<T, cpu> attention_mask, response_mask, logprobs;  // [B, P + steps]
  std::int64_t prompt_length = 0;                          // P
  std::vector<std::int64_t> response_lengths;              // per row, the EOS included

  // Row b's response tokens without its final EOS; *ended tells whether there was one.
  std::vector<std::int32_t> response(std::int64_t b, std::int32_t eos_id, bool* ended = nullptr) const {
    const std::int64_t n = response_lengths[static_cast<std::size_t>(b)];
    std::vector<std::int32_t> r;
    for (std::int64_t t = 0; t < n; ++t) r.push_back(tokens(b, prompt_length + t));
    const bool eos = !r.empty() && eos_id >= 0 && r.back() == eos_id;
    if (eos) r.pop_back();
    if (ended) *ended = eos;
    return r;
  }
};

template <class T, Backend B>
Generation<T> generate(nn::GPT<T, B>& model, const std::vector<std::vector<std::int32_t>>& prompts,
                       const GenerationConfig& config) {
  constexpr std::string_view op = "generate";
  const nn::GPTConfig& mc = model.config();
  config.sampling.validate();
  if (prompts.empty()) fail(op, ": no prompts");
  if (config.max_new_tokens <= 0) fail(op, ": max_new_tokens must be positive, got ", config.max_new_tokens);
  std::size_t P = 0;
  for (std::size_t b = 0; b < prompts.size(); ++b) {
    if (prompts[b].empty()) fail(op, ": prompt ", b, " is empty");
    for (std::size_t i = 0; i < prompts[b].size(); ++i)
      if (prompts[b][i] < 0 || prompts[b][i] >= mc.vocab_size)
        fail(op, ": token ", prompts[b][i], " at position ", i, " of prompt ", b, " is outside the vocabulary of ",
             mc.vocab_size);
    P = std::max(P, prompts[b].size());
  }
  const auto Bn = static_cast<std::int64_t>(prompts.size());
  const auto Pn = static_cast<std::int64_t>(P);
  const std::int64_t L = Pn + config.max_new_tokens;
  if (L > mc.n_positions)
    fail(op, ": prompts of up to ", Pn, " tokens and ", config.max_new_tokens, " new tokens exceed the context of ",
         mc.n_positions);

  // Host copies of everything, filled as the steps go.
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(Bn * L), config.pad_id), positions(tokens.size(), 0);
  std::vector<T> mask(tokens.size(), T(0)), response(tokens.size(), T(0)), logprobs(tokens.size(), T(0));
  std::vector<std::int64_t> lengths(prompts.size());  // real tokens so far, per row
  auto at = [&](std::int64_t b, std::int64_t t) { return static_cast<std::size_t>(b * L + t); };
  for (std::int64_t b = 0; b < Bn; ++b) {
    const auto& p = prompts[static_cast<std::size_t>(b)];
    const std::int64_t pad = Pn - static_cast<std::int64_t>(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      tokens[at(b, pad + std::int64_t(i))] = p[i];
      positions[at(b, pad + std::int64_t(i))] = static_cast<std::int32_t>(i);
      mask[at(b, pad + std::int64_t(i))] = T(1);
    }
    lengths[static_cast<std::size_t>(b)] = static_cast<std::int64_t>(p.size());
  }
  // Columns [c0, c0 + n) of a host array as a [B, n] tensor of the model's backend.
  auto columns = [&](const auto& host, std::int64_t c0, std::int64_t n) {
    using E = typename std::decay_t<decltype(host)>::value_type;
    std::vector<E> part(static_cast<std::size_t>(Bn * n));
    for (std::int64_t b = 0; b < Bn; ++b)
      std::copy_n(host.begin() + static_cast<std::ptrdiff_t>(at(b, c0)), n, part.begin() + b * n);
    return Tensor<E, B>(Shape{Bn, n}, std::span<const E>(part));
  };

  nn::KVCache<T, B> cache(mc, Bn, L);
  const B& be = model.backend();
  // One step's inputs: columns [c0, c0 + n) of the host arrays on the model's backend.
  Tensor<std::int32_t, B> step_tokens, step_positions;
  Tensor<T, B> step_mask;
  auto step = [&](std::int64_t c0, std::int64_t n) {
    step_tokens = columns(tokens, c0, n);
    step_positions = columns(positions, c0, n);
    step_mask = columns(mask, c0, n);
    return model.forward_cached(cache, step_tokens, step_positions, step_mask);
  };
  View<const T, B> logits = step(0, Pn);
  Tensor<std::int32_t, B> next(Shape{Bn});
  Tensor<T, B> next_logp(Shape{Bn});
  std::vector<bool> finished(prompts.size(), false);
  std::vector<std::int64_t> response_lengths(prompts.size(), 0);
  const PhiloxStream rng{config.seed, generation_stream};
  std::int64_t steps = 0;
  while (true) {
    const std::int64_t col = Pn + steps;
    sample_tokens(be, next.view(), next_logp.view(), logits, config.sampling, rng, std::uint64_t(steps * Bn));
    const std::vector<std::int32_t> sampled = next.to_vector();
    const std::vector<T> sampled_logp = next_logp.to_vector();
    bool all_finished = true;
    for (std::int64_t b = 0; b < Bn; ++b) {
      const auto ub = static_cast<std::size_t>(b);
      if (finished[ub]) continue;
      tokens[at(b, col)] = sampled[ub];
      positions[at(b, col)] = static_cast<std::int32_t>(lengths[ub]++);
      mask[at(b, col)] = response[at(b, col)] = T(1);
      logprobs[at(b, col)] = sampled_logp[ub];
      ++response_lengths[ub];
      finished[ub] = sampled[ub] == config.eos_id;
      all_finished = all_finished && finished[ub];
    }
    ++steps;
    if (all_finished || steps == config.max_new_tokens) break;
    logits = step(col, 1);
  }

  const std::int64_t used = Pn + steps;
  Generation<T> out;
  out.prompt_length = Pn;
  out.response_lengths = std::move(response_lengths);
  auto trim = [&](const auto& host) {
    using E = typename std::decay_t<decltype(host)>::value_type;
    std::vector<E> part(static_cast<std::size_t>(Bn * used));
    for (std::int64_t b = 0; b < Bn; ++b)
      std::copy_n(host.begin() + static_cast<std::ptrdiff_t>(at(b, 0)), used, part.begin() + b * used);
    return Tensor<E, cpu>(Shape{Bn, used}, std::span<const E>(part));
  };
  out.tokens = trim(tokens);
  out.positions = trim(positions);
  out.attention_mask = trim(mask);
  out.response_mask = trim(response);
  out.logprobs = trim(logprobs);
  return out;
}

}  // namespace rlhf

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu/tag.hpp"
namespace rlhf {
extern template Generation<float> generate(nn::GPT<float, cpu>&, const std::vector<std::vector<std::int32_t>>&,
                                           const GenerationConfig&);
extern template Generation<double> generate(nn::GPT<double, cpu>&, const std::vector<std::vector<std::int32_t>>&,
                                            const GenerationConfig&);
}  // namespace rlhf
#endif
