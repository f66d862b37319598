// The whole GPT: a double-precision gradient check of every parameter through each head,
// steady-state training steps that allocate nothing, and errors at the model boundary.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "allocation_counter.hpp"
#include "gradcheck.hpp"
#include "rlhf/nn/gpt.hpp"
#include "below_training.hpp"

namespace test_gpt {

using rlhf::cpu;
using rlhf::Tensor;
using rlhf::View;
using rlhf::nn::GPT;
using rlhf::nn::GPTConfig;

namespace {

GPTConfig tiny_config() {
  GPTConfig c;
  c.vocab_size = 13;
  c.n_positions = 8;
  c.n_embd = 8;
  c.n_layer = 2;
  c.n_head = 2;
  return c;
}

// A left-padded batch of 2 rows × 5 tokens: row 1 starts with two pads.
struct Batch {
  Tensor<std::int32_t, cpu> ids{{2, 5}, {1, 5, 9, 2, 7, 0, 0, 3, 12, 4}};
  Tensor<std::int32_t, cpu> positions{{2, 5}, {0, 1, 2, 3, 4, 0, 0, 0, 1, 2}};
  Tensor<double, cpu> key_mask{{2, 5}, {1, 1, 1, 1, 1, 0, 0, 1, 1, 1}};
  Tensor<std::int32_t, cpu> targets{{2, 5}, {5, 9, 2, 7, 11, -100, -100, 12, 4, 6}};
  Tensor<double, cpu> loss_mask{{2, 5}, {1, 1, 1, 1, 0, 0, 0, 1, 1, 1}};
  // The targets with an id at every position, as the log-prob head needs.
  Tensor<std::int32_t, cpu> targets_valid() const { return {{2, 5}, {5, 9, 2, 7, 11, 0, 0, 12, 4, 6}}; }
};

}  // namespace

TEST_CASE("GPT gradient check (double, 2 layers): LM loss with left padding and a loss mask") {
  GPT<double, cpu> model(tiny_config());
  model.init_weights(7);
  // Larger weights than GPT-2's 0.02 so every path carries a visible gradient.
  rlhf::fill_normal(cpu{}, model.parameters().view(), rlhf::PhiloxStream{3, 0}, 0, 0.0, 0.3);
  Batch b;
  auto loss = [&] {
    model.forward(b.ids, b.positions, b.key_mask);
    return model.lm_loss(b.targets, b.loss_mask);
  };
  model.zero_grad();
  loss();
  model.backward_lm_loss();
  const double err = gradcheck::whole_model_error(model.parameters(), model.gradients(), loss);
  MESSAGE("relative error ", err);
  CHECK(err <= 1e-6);
}

TEST_CASE("GPT gradient check (double, 2 layers): log-probs at temperature 0.7") {
  GPT<double, cpu> model(tiny_config());
  rlhf::fill_normal(cpu{}, model.parameters().view(), rlhf::PhiloxStream{5, 0}, 0, 0.0, 0.3);
  Batch b;
  Tensor<double, cpu> logp({2, 5});
  Tensor<double, cpu> upstream({2, 5}, {0.3, -1.2, 0.7, 0.1, 2.0, 0, 0, -0.4, 0.9, 1.1});
  auto loss = [&] {
    model.forward(b.ids, b.positions, b.key_mask);
    model.logprobs(logp.view(), b.ids, 0.7);  // targets: the tokens themselves
    double s = 0;
    for (std::int64_t i = 0; i < 10; ++i) s += upstream.data()[i] * logp.data()[i];
    return s;
  };
  model.zero_grad();
  loss();
  model.backward_logprobs(upstream);
  const double err = gradcheck::whole_model_error(model.parameters(), model.gradients(), loss);
  MESSAGE("relative error ", err);
  CHECK(err <= 1e-6);
}

TEST_CASE("GPT: padded positions do not change the real tokens' outputs") {
  // Row 1 of the batch is row [3, 12, 4] left-padded with two pads; alone it must give the same
  // hidden states at its real positions.
  GPT<double, cpu> model(tiny_config());
  model.init_weights(11);
  rlhf::fill_normal(cpu{}, model.parameters().view(), rlhf::PhiloxStream{9, 0}, 0, 0.0, 0.3);
  Batch b;
  const auto padded = model.forward(b.ids, b.positions, b.key_mask);
  std::vector<double> from_padded(padded.data() + (5 + 2) * 8, padded.data() + 10 * 8);
  Tensor<std::int32_t, cpu> alone({1, 3}, {3, 12, 4});
  const auto single = model.forward(alone);
  for (std::size_t i = 0; i < from_padded.size(); ++i)
    CHECK(single.data()[i] == doctest::Approx(from_padded[i]).epsilon(1e-12));
}

TEST_CASE("GPT: a training step allocates nothing after the first") {
  GPTConfig c = tiny_config();
  c.n_embd = 16;
  GPT<float, cpu> model(c);
  model.init_weights(1);
  Tensor<std::int32_t, cpu> ids({2, 8}), targets({2, 8});
  for (std::int64_t i = 0; i < 16; ++i) {
    ids.data()[i] = static_cast<std::int32_t>(i % 13);
    targets.data()[i] = static_cast<std::int32_t>((i + 1) % 13);
  }
  auto step = [&] {
    model.zero_grad();
    model.forward(ids);
    const float loss = model.lm_loss(targets);
    model.backward_lm_loss();
    return loss;
  };
  step();
  const auto arena_allocations = model.activation_allocations();
  allocation_counter::allocations = 0;
  allocation_counter::counting = true;
  for (int i = 0; i < 3; ++i) step();
  allocation_counter::counting = false;
  CHECK(allocation_counter::allocations.load() == 0);
  CHECK(model.activation_allocations() == arena_allocations);
  // A smaller batch fits in the same arena.
  model.forward(ids.view().rows(0, 1));
  CHECK(model.activation_allocations() == arena_allocations);
}

TEST_CASE("GPT: errors name the op and the offending input") {
  GPT<float, cpu> model(tiny_config());
  Tensor<std::int32_t, cpu> too_long({1, 9});
  CHECK_THROWS_WITH_AS(model.forward(too_long),
                       "GPT::forward: sequence of 9 tokens (ids [1, 9]) is longer than the context of 8", rlhf::error);
  Tensor<std::int32_t, cpu> bad_id({1, 2}, {3, 13});
  CHECK_THROWS_WITH_AS(model.forward(bad_id), "embedding_forward: id 13 at position 1 is outside the table [13, 8]",
                       rlhf::error);
  CHECK_THROWS_WITH_AS(model.lm_loss(bad_id), "GPT::lm_loss: call forward() first", rlhf::error);
  GPTConfig bad = tiny_config();
  bad.n_head = 3;
  CHECK_THROWS_WITH_AS((GPT<float, cpu>{bad}), "GPTConfig: n_head = 3 does not divide n_embd = 8", rlhf::error);
}

// Mixed precision: a model built on cpu{.precision = bf16} rounds every matmul's operands to
// bfloat16 (unit roundoff u = 2^-8) and accumulates in fp32, with fp32 weights, gradients and
// AdamW state. Its loss and gradients stay within a few u of fp32's, and training with it
// follows the fp32 run. (The CUDA tests compare the GPU's bf16 against this same CPU model.)
TEST_CASE("GPT in bf16: loss, gradients and AdamW steps stay within bf16 tolerance of fp32") {
  GPTConfig c = tiny_config();
  c.n_embd = 32;
  c.vocab_size = 40;
  GPT<float, cpu> fp32(c);
  GPT<float, cpu> bf16(c, cpu{rlhf::MatmulPrecision::bf16});
  fp32.init_weights(3);
  bf16.init_weights(3);
  Tensor<std::int32_t, cpu> ids({4, 8}), targets({4, 8});
  for (std::int64_t i = 0; i < 32; ++i) {
    ids.data()[i] = static_cast<std::int32_t>((7 * i + 3) % 40);
    targets.data()[i] = static_cast<std::int32_t>((5 * i + 1) % 40);
  }
  auto loss_and_grads = [&](GPT<float, cpu>& m) {
    m.zero_grad();
    m.forward(ids);
    const float loss = m.lm_loss(targets);
    m.backward_lm_loss();
    return loss;
  };
  const double u = std::ldexp(1.0, -8);
  const float l32 = loss_and_grads(fp32), l16 = loss_and_grads(bf16);
  MESSAGE("fp32 loss ", l32, ", bf16 loss ", l16);
  CHECK(l16 != l32);  // the rounding happened
  CHECK(std::abs(l16 - l32) <= 4 * u * std::abs(l32));
  double diff = 0, norm = 0;
  for (std::int64_t i = 0; i < fp32.gradients().numel(); ++i) {
    const double g = fp32.gradients().data()[i];
    diff += std::pow(bf16.gradients().data()[i] - g, 2);
    norm += g * g;
  }
  MESSAGE("gradient relative error ", std::sqrt(diff / norm));
  CHECK(std::sqrt(diff / norm) <= 8 * u);

  // 30 AdamW steps at a learning rate that moves the loss: the curves stay together.
  rlhf::optim::AdamW<float, cpu> opt32(fp32.layout(), {}), opt16(bf16.layout(), {}, bf16.backend());
  float first = l32, last32 = 0, last16 = 0;
  for (int step = 0; step < 30; ++step) {
    last32 = loss_and_grads(fp32);
    last16 = loss_and_grads(bf16);
    CHECK(std::abs(last16 - last32) <= 0.02 * std::abs(last32));
    opt32.step(fp32.parameters().view(), fp32.gradients(), 3e-3);
    opt16.step(bf16.parameters().view(), bf16.gradients(), 3e-3);
  }
  MESSAGE("after 30 steps: fp32 ", last32, ", bf16 ", last16, " (from ", first, ")");
  CHECK(last32 < 0.5 * first);
}

}  // namespace test_gpt

namespace test_gpt {

// A view of a temporary would dangle once the call that took it returns, and GPT reads its
// inputs again in the heads and in backward: taking such a view does not compile.
static_assert(!std::is_convertible_v<Tensor<float, cpu>&&, View<const float, cpu>>);
static_assert(!std::is_convertible_v<const Tensor<float, cpu>&&, View<const float, cpu>>);
static_assert(!std::is_convertible_v<Tensor<float, cpu>&&, View<float, cpu>>);
static_assert(std::is_convertible_v<const Tensor<float, cpu>&, View<const float, cpu>>);
static_assert(std::is_convertible_v<Tensor<float, cpu>&, View<float, cpu>>);

TEST_CASE("GPT: heads and backward read the model's own copies of ids, positions, masks and targets") {
  // One model is given inputs that are scribbled over and freed right after each call, the
  // other inputs that live on: the same gradients, bit for bit (under ASan, reading the freed
  // buffers, as the model once did, is a heap-use-after-free).
  auto scribble_and_free = [](auto& tensor) {
    std::fill(tensor.data(), tensor.data() + tensor.numel(), 1);
    tensor = std::remove_reference_t<decltype(tensor)>();
  };
  for (bool logprob_head : {false, true}) {
    GPT<double, cpu> kept(tiny_config()), freed(tiny_config());
    kept.init_weights(3);
    freed.init_weights(3);
    Batch b;
    kept.zero_grad();
    freed.zero_grad();
    Tensor<double, cpu> logp({2, 5}), entropy({2, 5}), dlogp({2, 5}, {1, 2, 3, 4, 5, 0, 0, 6, 7, 8}),
        dent({2, 5}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
    kept.forward(b.ids, b.positions, b.key_mask);
    if (logprob_head) {
      const auto targets = b.targets_valid();
      kept.logprobs(logp.view(), targets, 0.7, entropy.view());
      kept.backward_logprobs(dlogp, dent);
    } else {
      kept.lm_loss(b.targets, b.loss_mask);
      kept.backward_lm_loss();
    }
    {
      Batch gone;
      freed.forward(gone.ids, gone.positions, gone.key_mask);
      scribble_and_free(gone.ids);
      scribble_and_free(gone.positions);
      scribble_and_free(gone.key_mask);
      if (logprob_head) {
        auto targets = gone.targets_valid();
        Tensor<double, cpu> logp2({2, 5}), entropy2({2, 5});
        freed.logprobs(logp2.view(), targets, 0.7, entropy2.view());
        scribble_and_free(targets);
        scribble_and_free(entropy2);
        freed.backward_logprobs(dlogp, dent);
      } else {
        freed.lm_loss(gone.targets, gone.loss_mask);
        scribble_and_free(gone.targets);
        scribble_and_free(gone.loss_mask);
        freed.backward_lm_loss();
      }
    }
    INFO((logprob_head ? "log-prob head" : "LM loss"));
    CHECK(freed.gradients().to_vector() == kept.gradients().to_vector());
  }
}

}  // namespace test_gpt

namespace test_gpt {
// The CPU backend provides every kernel the models and trainers need, in float and double.
static_assert(rlhf::ModelBackend<cpu, float>);
static_assert(rlhf::ModelBackend<cpu, double>);
}  // namespace test_gpt
