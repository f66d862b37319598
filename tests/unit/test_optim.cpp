// AdamW against torch.optim.AdamW (tests/data/adamw_refs.json, made by
// tests/reference/make_optim_refs.py), the warmup + cosine schedule, gradient-norm clipping, and
// gradient accumulation over micro-batches.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "below_training.hpp"

namespace test_optim {

using rlhf::cpu;
using rlhf::Tensor;

TEST_CASE("AdamW matches torch.optim.AdamW over five steps, with and without weight decay") {
  std::ifstream in(RLHF_TEST_DATA_DIR "/adamw_refs.json");
  REQUIRE(in.good());
  const auto ref = nlohmann::json::parse(in);

  rlhf::nn::ParameterLayout layout;
  layout.add("decayed", {4}, true);
  layout.add("plain", {3}, false);
  Tensor<double, cpu> params({layout.size()}), grads({layout.size()});
  auto decayed = layout.view(params.view(), 0), plain = layout.view(params.view(), 1);
  auto g_decayed = layout.view(grads.view(), 0), g_plain = layout.view(grads.view(), 1);
  auto set = [](auto view, const nlohmann::json& values) {
    for (std::size_t i = 0; i < values.size(); ++i) view.data()[i] = values[i].get<double>();
  };
  set(decayed, ref["init"][0]);
  set(plain, ref["init"][1]);

  rlhf::optim::AdamW<double, cpu> opt(layout, {ref["betas"][0], ref["betas"][1], ref["eps"], ref["weight_decay"]});
  for (const auto& step : ref["steps"]) {
    set(g_decayed, step["grads"][0]);
    set(g_plain, step["grads"][1]);
    opt.step(params.view(), grads, step["lr"].get<double>());
    for (std::size_t i = 0; i < 4; ++i)
      CHECK(decayed.data()[i] == doctest::Approx(step["params"][0][i].get<double>()).epsilon(1e-13));
    for (std::size_t i = 0; i < 3; ++i)
      CHECK(plain.data()[i] == doctest::Approx(step["params"][1][i].get<double>()).epsilon(1e-13));
  }
  CHECK(opt.steps() == 5);
}

TEST_CASE("AdamW applies weight decay only where the layout says so") {
  rlhf::nn::ParameterLayout layout;
  layout.add("w", {2}, true);
  layout.add("b", {2}, false);
  Tensor<float, cpu> params({layout.size()}), grads({layout.size()});  // zero gradients
  rlhf::fill_constant(cpu{}, params.view(), 2.0f);
  rlhf::optim::AdamW<float, cpu> opt(layout, {0.9, 0.999, 1e-8, 0.5});
  opt.step(params.view(), grads, 0.1);
  CHECK(layout.view(params.view(), 0)(0) == doctest::Approx(2.0f * (1 - 0.1f * 0.5f)));
  CHECK(layout.view(params.view(), 1)(0) == 2.0f);
  CHECK_THROWS_WITH_AS((rlhf::optim::AdamW<float, cpu>(layout, {1.0, 0.999, 1e-8, 0.0})),
                       "AdamW.beta1 must lie in [0, 1), got 1", rlhf::error);
}

TEST_CASE("warmup + cosine schedule") {
  const rlhf::optim::WarmupCosine s{1.0, 10, 110, 0.1};
  s.validate();
  CHECK(s(0) == doctest::Approx(0.1));
  CHECK(s(9) == doctest::Approx(1.0));
  CHECK(s(10) == doctest::Approx(1.0));
  CHECK(s(60) == doctest::Approx(0.1 + 0.9 * 0.5));  // half-way through the decay
  CHECK(s(110) == doctest::Approx(0.1));
  CHECK(s(500) == doctest::Approx(0.1));
  CHECK_THROWS_AS((rlhf::optim::WarmupCosine{1.0, 20, 10, 0.1}.validate()), rlhf::error);
}

TEST_CASE("clip_grad_norm scales to the bound, returns the norm before clipping, rejects NaN") {
  Tensor<float, cpu> g({4}, {3, 0, 4, 0});
  CHECK(rlhf::optim::clip_grad_norm(cpu{}, g.view(), 10.0) == doctest::Approx(5.0));
  CHECK(g(0) == 3.0f);  // under the bound: untouched
  CHECK(rlhf::optim::clip_grad_norm(cpu{}, g.view(), 1.0) == doctest::Approx(5.0));
  CHECK(g(0) == doctest::Approx(0.6f));
  CHECK(g(2) == doctest::Approx(0.8f));
  g(1) = std::nanf("");
  CHECK_THROWS_WITH_AS(rlhf::optim::clip_grad_norm(cpu{}, g.view(), 1.0),
                       "clip_grad_norm: the gradient norm is nan (a NaN or Inf reached the gradients)", rlhf::error);
}

TEST_CASE("gradient accumulation: two half batches with dloss = 1/2 give the full batch's gradient") {
  rlhf::nn::GPTConfig c;
  c.vocab_size = 11;
  c.n_positions = 6;
  c.n_embd = 8;
  c.n_layer = 1;
  c.n_head = 2;
  rlhf::nn::GPT<double, cpu> model(c);
  model.init_weights(3);
  Tensor<std::int32_t, cpu> ids({4, 6}), targets({4, 6});
  for (std::int64_t i = 0; i < 24; ++i) {
    ids.data()[i] = static_cast<std::int32_t>((7 * i + 3) % 11);
    targets.data()[i] = static_cast<std::int32_t>((5 * i + 1) % 11);
  }
  model.zero_grad();
  model.forward(ids);
  model.lm_loss(targets);
  model.backward_lm_loss();
  const std::vector<double> full = model.gradients().to_vector();

  model.zero_grad();
  for (std::int64_t half = 0; half < 2; ++half) {
    model.forward(ids.view().rows(2 * half, 2 * half + 2));
    model.lm_loss(targets.view().rows(2 * half, 2 * half + 2));
    model.backward_lm_loss(0.5);
  }
  const std::vector<double> accumulated = model.gradients().to_vector();
  for (std::size_t i = 0; i < full.size(); ++i) CHECK(accumulated[i] == doctest::Approx(full[i]).epsilon(1e-10));
}

}  // namespace test_optim
