// Generation: the KV-cached path against the full forward pass, the sampler's distribution and
// filters, and the trap PPO depends on: generation log-probs equal forward log-probs.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <vector>

#include "below_training.hpp"

namespace test_generate {

using rlhf::cpu;
using rlhf::Tensor;
using rlhf::nn::GPT;
using rlhf::nn::GPTConfig;

namespace {

GPTConfig small_config() {
  GPTConfig c;
  c.vocab_size = 23;
  c.n_positions = 32;
  c.n_embd = 16;
  c.n_layer = 2;
  c.n_head = 4;
  return c;
}

// Weights large enough that the distributions are far from uniform.
template <class T>
void randomise(GPT<T, cpu>& model, std::uint64_t seed) {
  model.init_weights(seed);
  rlhf::fill_normal(cpu{}, model.parameters().view(), rlhf::PhiloxStream{seed, 99}, 0, T(0), T(0.4));
}

const std::vector<std::vector<std::int32_t>> kPrompts = {{3, 7, 1, 9, 4}, {5}, {11, 2, 8}};

// Full-forward log-probs of every token given its prefix, for a finished generation.
template <class T>
std::vector<T> forward_logprobs(GPT<T, cpu>& model, const rlhf::Generation<T>& g, T temperature) {
  const std::int64_t Bn = g.tokens.size(0), L = g.tokens.size(1);
  Tensor<std::int32_t, cpu> next({Bn, L});  // targets: the token after each position
  for (std::int64_t b = 0; b < Bn; ++b)
    for (std::int64_t t = 0; t + 1 < L; ++t) next(b, t) = g.tokens(b, t + 1);
  model.forward(g.tokens, g.positions, g.attention_mask);
  Tensor<T, cpu> logp({Bn, L});
  model.logprobs(logp.view(), next, temperature);
  std::vector<T> shifted(static_cast<std::size_t>(Bn * L), T(0));  // shifted[b, t] = log p(token t | < t)
  for (std::int64_t b = 0; b < Bn; ++b)
    for (std::int64_t t = 1; t < L; ++t) shifted[static_cast<std::size_t>(b * L + t)] = logp(b, t - 1);
  return shifted;
}

}  // namespace

TEST_CASE("attention_kv_forward over a whole sequence equals attention_forward") {
  const std::int64_t B = 2, T = 6, C = 8, H = 2, D = C / H;
  Tensor<double, cpu> qkv({B, T, 3 * C}), mask({B, T}, {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1});
  rlhf::fill_normal(cpu{}, qkv.view(), rlhf::PhiloxStream{1, 2}, 0, 0.0, 1.0);
  Tensor<double, cpu> want({B, T, C}), att({B, H, T, T});
  rlhf::attention_forward(cpu{}, want.view(), att.view(), qkv, mask, H);
  // Prefill of 4 tokens, then 2 single steps.
  Tensor<double, cpu> k({B, H, T, D}), v({B, H, T, D}), got({B, T, C});
  std::int64_t past = 0;
  for (std::int64_t n : {4, 1, 1}) {
    Tensor<double, cpu> part({B, n, 3 * C}), out({B, n, C});
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t c = 0; c < 3 * C; ++c) part(b, t, c) = qkv(b, past + t, c);
    rlhf::attention_kv_forward(cpu{}, out.view(), k.view(), v.view(), mask, part, past, H);
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t c = 0; c < C; ++c) got(b, past + t, c) = out(b, t, c);
    past += n;
  }
  for (std::int64_t i = 0; i < want.numel(); ++i)
    CHECK(got.data()[i] == doctest::Approx(want.data()[i]).epsilon(1e-12));
  CHECK_THROWS_WITH_AS(rlhf::attention_kv_forward(cpu{}, got.view().rows(0, 2), k.view(), v.view(), mask, qkv, 1, H),
                       "attention_kv_forward: 6 new tokens after 1 cached ones exceed the cache of 6 positions",
                       rlhf::error);
}

TEST_CASE("generation log-probs equal the full forward pass's (temperature 0.7, mixed prompt lengths)") {
  GPT<float, cpu> model(small_config());
  randomise(model, 5);
  for (const rlhf::SamplingParams sampling : {rlhf::SamplingParams{0.7, 0, 1.0}, rlhf::SamplingParams{0.7, 5, 1.0},
                                              rlhf::SamplingParams{0.7, 0, 0.8}, rlhf::SamplingParams{1.0, 0, 1.0}}) {
    rlhf::GenerationConfig config;
    config.max_new_tokens = 12;
    config.sampling = sampling;
    config.seed = 17;
    const auto g = rlhf::generate(model, kPrompts, config);
    CHECK(g.prompt_length == 5);
    const auto full = forward_logprobs(model, g, float(sampling.temperature));
    double max_diff = 0;
    for (std::int64_t i = 0; i < g.tokens.numel(); ++i)
      if (g.response_mask.data()[i] != 0)
        max_diff = std::max(max_diff, double(std::abs(full[std::size_t(i)] - g.logprobs.data()[i])));
    MESSAGE("top_k ", sampling.top_k, " top_p ", sampling.top_p, ": max |generation - forward| = ", max_diff);
    CHECK(max_diff <= 1e-5);
  }
}

TEST_CASE("generation: layout of tokens, masks and positions; same seed gives the same samples") {
  GPT<float, cpu> model(small_config());
  randomise(model, 6);
  rlhf::GenerationConfig config;
  config.max_new_tokens = 6;
  config.seed = 3;
  config.pad_id = 0;
  const auto g = rlhf::generate(model, kPrompts, config);
  REQUIRE(g.tokens.shape() == rlhf::Shape{3, 11});
  // Row 1 is the one-token prompt [5], left-padded by 4.
  for (std::int64_t t = 0; t < 4; ++t) {
    CHECK(g.attention_mask(1, t) == 0);
    CHECK(g.tokens(1, t) == 0);
  }
  CHECK(g.tokens(1, 4) == 5);
  CHECK(g.positions(1, 4) == 0);
  for (std::int64_t t = 5; t < 11; ++t) {
    CHECK(g.response_mask(1, t) == 1);
    CHECK(g.positions(1, t) == t - 4);
  }
  CHECK(g.response_mask(0, 4) == 0);
  CHECK(g.response_lengths == std::vector<std::int64_t>{6, 6, 6});

  const auto again = rlhf::generate(model, kPrompts, config);
  CHECK(again.tokens.to_vector() == g.tokens.to_vector());
  config.seed = 4;
  CHECK(rlhf::generate(model, kPrompts, config).tokens.to_vector() != g.tokens.to_vector());
}

TEST_CASE("generation stops each row at its EOS, the EOS included") {
  GPT<float, cpu> model(small_config());
  randomise(model, 8);
  rlhf::GenerationConfig config;
  config.max_new_tokens = 8;
  config.sampling.temperature = 0;  // greedy: the continuation is fixed
  const auto free_run = rlhf::generate(model, kPrompts, config);
  // Make row 0's second generated token the EOS.
  config.eos_id = free_run.tokens(0, 6);
  config.pad_id = 22;
  const auto g = rlhf::generate(model, kPrompts, config);
  std::int64_t eos_col = 5;
  while (g.tokens(0, eos_col) != config.eos_id) ++eos_col;
  CHECK(g.response_lengths[0] == eos_col - 4);
  for (std::int64_t t = eos_col + 1; t < g.tokens.size(1); ++t) {
    CHECK(g.tokens(0, t) == 22);
    CHECK(g.response_mask(0, t) == 0);
    CHECK(g.attention_mask(0, t) == 0);
  }
  // Greedy tokens before a row's EOS are the free run's.
  for (std::int64_t t = 5; t <= eos_col; ++t) CHECK(g.tokens(0, t) == free_run.tokens(0, t));
}

TEST_CASE("sample_tokens: frequencies follow softmax(z / τ); filters and greedy") {
  const std::int64_t V = 5;
  Tensor<double, cpu> logits({1, V}, {1.0, 2.0, 0.5, 2.0, -1.0});
  Tensor<std::int32_t, cpu> tok({1});
  Tensor<double, cpu> logp({1});
  const double tau = 0.8;
  std::vector<double> p(V);
  double z = 0;
  for (std::int64_t v = 0; v < V; ++v) z += (p[std::size_t(v)] = std::exp(logits(0, v) / tau));
  for (double& x : p) x /= z;
  std::vector<int> counts(V, 0);
  const int n = 20000;
  const rlhf::PhiloxStream rng{42, 0};
  for (int i = 0; i < n; ++i) {
    rlhf::sample_tokens(cpu{}, tok.view(), logp.view(), logits, {tau, 0, 1.0}, rng, std::uint64_t(i));
    ++counts[std::size_t(tok(0))];
    CHECK(logp(0) == doctest::Approx(std::log(p[std::size_t(tok(0))])).epsilon(1e-12));
  }
  for (std::int64_t v = 0; v < V; ++v) {
    const double sd = std::sqrt(p[std::size_t(v)] * (1 - p[std::size_t(v)]) / n);
    CHECK(std::abs(counts[std::size_t(v)] / double(n) - p[std::size_t(v)]) < 5 * sd + 1e-9);
  }
  // Greedy: the lowest id of maximal logit (ids 1 and 3 tie), log-prob under softmax(z).
  rlhf::sample_tokens(cpu{}, tok.view(), logp.view(), logits, {0.0, 0, 1.0}, rng, 0);
  CHECK(tok(0) == 1);
  // top_k = 2 keeps ids 1 and 3 only; top_p = 0.5 keeps the smallest prefix reaching 0.5.
  std::map<int, int> seen_k, seen_p;
  for (int i = 0; i < 2000; ++i) {
    rlhf::sample_tokens(cpu{}, tok.view(), logp.view(), logits, {tau, 2, 1.0}, rng, std::uint64_t(i));
    ++seen_k[tok(0)];
    rlhf::sample_tokens(cpu{}, tok.view(), logp.view(), logits, {tau, 0, 0.5}, rng, std::uint64_t(i));
    ++seen_p[tok(0)];
  }
  CHECK(seen_k.size() == 2);
  CHECK(seen_k.count(1) == 1);
  CHECK(seen_k.count(3) == 1);
  // p(1) = p(3) ≈ 0.36 each: the nucleus of 0.5 needs both.
  CHECK(seen_p.size() == 2);
  CHECK_THROWS_WITH_AS(rlhf::sample_tokens(cpu{}, tok.view(), logp.view(), logits, {1.0, 0, 0.0}, rng, 0),
                       "sampling.top_p must lie in (0, 1], got 0", rlhf::error);
}

TEST_CASE("generate: bad prompts are errors naming the prompt") {
  GPT<float, cpu> model(small_config());
  rlhf::GenerationConfig config;
  config.max_new_tokens = 4;
  CHECK_THROWS_WITH_AS(rlhf::generate(model, {{1, 2}, {}}, config), "generate: prompt 1 is empty", rlhf::error);
  CHECK_THROWS_WITH_AS(rlhf::generate(model, {{1, 23}}, config),
                       "generate: token 23 at position 1 of prompt 0 is outside the vocabulary of 23", rlhf::error);
  config.max_new_tokens = 30;
  CHECK_THROWS_WITH_AS(rlhf::generate(model, {{1, 2, 3}}, config),
                       "generate: prompts of up to 3 tokens and 30 new tokens exceed the context of 32", rlhf::error);
}

// The temperature floor (SamplingParams::min_temperature): at it, float log-probs of samples and
// of given targets stay finite, at most 0, and within 1e-3 of the double log-softmax; below it
// (and above 0) sampling is refused.
TEST_CASE("sampling at the temperature floor: float log-probs finite, <= 0 and right; below it refused") {
  constexpr std::int64_t B = 64, V = 257;
  const double tau = rlhf::SamplingParams::min_temperature;
  std::vector<float> z(std::size_t(B * V));
  const rlhf::PhiloxStream rng{7, 0};
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = float(5.0 * rng.normal(i));
  z[3] = 40.0f;  // a row with one far larger logit
  const Tensor<float, cpu> logits({B, V}, std::span<const float>(z));
  Tensor<std::int32_t, cpu> tokens({B});
  Tensor<float, cpu> logp({B}), given({B}), lse({B});
  rlhf::sample_tokens(cpu{}, tokens.view(), logp.view(), logits.cview(), {tau, 0, 1.0}, rng, 0);
  rlhf::logprob_forward(cpu{}, given.view(), lse.view(), logits.cview(), tokens.cview(), float(tau));
  for (std::int64_t b = 0; b < B; ++b) {
    double top = -INFINITY, sum = 0;
    for (std::int64_t v = 0; v < V; ++v) top = std::max(top, double(z[std::size_t(b * V + v)]) / tau);
    for (std::int64_t v = 0; v < V; ++v) sum += std::exp(double(z[std::size_t(b * V + v)]) / tau - top);
    const double exact = double(z[std::size_t(b * V + tokens(b))]) / tau - top - std::log(sum);
    CAPTURE(b);
    for (const float got : {logp(b), given(b)}) {
      CHECK(std::isfinite(got));
      CHECK(got <= 0.0f);
      CHECK(std::abs(double(got) - exact) <= 1e-3);
    }
  }
  for (const double below : {1e-3, 1e-8, 1e-12}) {
    const rlhf::SamplingParams p{below, 0, 1.0};
    CHECK_THROWS_WITH(p.validate(), doctest::Contains("below the floor of 0.01"));
  }
  CHECK_NOTHROW(rlhf::SamplingParams{0.0, 0, 1.0}.validate());  // greedy
}

}  // namespace test_generate
