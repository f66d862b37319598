// Model-level parity with the CPU backend, for any backend Be: the GPT, reward model, generation
// and the three trainers compiled for Be from the same headers as for the CPU, and checked
// against the CPU backend from the same weights (fp32): the whole GPT's logits, LM loss and every
// gradient, log-probs and entropies with their gradients; greedy and sampled generation token
// for token given the seed; one SFT, one reward-model and one PPO step (losses, and updated
// weights of the policy and of the value model), also at the default pipeline's shape; and a
// component of a user's own,
// examples/mlp_value_head.hpp, compiled for Be unchanged. Each test is a doctest template:
// tests/portable/test_portable_models.cpp invokes it for thrust_omp (the CUDA backend's kernels on
// OpenMP threads), tests/cuda/test_cuda_models.cu for the CUDA backend.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "../../examples/mlp_value_head.hpp"
#include "../portable/compare.hpp"
#include "../unit/default_pipeline_shape.hpp"
#include "rlhf/rlhf.hpp"
#include "rlhf/train/ppo.hpp"

namespace model_parity {

using rlhf::cpu;
using rlhf::Shape;
using rlhf::Tensor;
using rlhf::nn::GPT;
using rlhf::nn::RewardModel;

namespace fs = std::filesystem;

inline rlhf::nn::GPTConfig byte_model() {
  rlhf::nn::GPTConfig c;
  c.vocab_size = 257;
  c.n_positions = 32;
  c.n_embd = 64;
  c.n_layer = 2;
  c.n_head = 4;
  return c;
}

// A view's values on the host (tensors have to_vector()).
template <class T, class Be>
std::vector<T> host(rlhf::View<const T, Be> v) {
  std::vector<T> out(static_cast<std::size_t>(v.numel()));
  Be::copy_to_host(out.data(), v.data(), v.bytes());
  return out;
}

// The backend's model gets the CPU model's weights.
template <class Be>
void copy_weights(const GPT<float, cpu>& from, GPT<float, Be>& to) {
  Be::copy_from_host(to.parameters().data(), from.parameters().data(), from.parameters().bytes());
}

// A left-padded batch of 3 rows × 12 tokens with a loss mask.
struct Batch {
  std::vector<std::int32_t> ids, positions, targets;
  std::vector<float> key_mask, loss_mask;
  Batch() {
    const rlhf::PhiloxStream rng{9, 0};
    for (int b = 0; b < 3; ++b)
      for (int t = 0; t < 12; ++t) {
        const int pad = b == 1 ? 4 : 0;
        const bool real = t >= pad;
        ids.push_back(real ? std::int32_t(rng.word(std::uint64_t(b * 12 + t)) % 257) : 0);
        positions.push_back(real ? t - pad : 0);
        targets.push_back(real ? std::int32_t(rng.word(std::uint64_t(100 + b * 12 + t)) % 257) : -100);
        key_mask.push_back(real ? 1.0f : 0.0f);
        loss_mask.push_back(real && t % 3 != 0 ? 1.0f : 0.0f);
      }
  }
  template <class B, class T>
  static Tensor<T, B> tensor(const std::vector<T>& v) {
    return Tensor<T, B>(Shape{3, 12}, std::span<const T>(v));
  }
};

// Weights after AdamW steps on each backend. Adam divides by √v, so a gradient that nearly
// cancels (|g| within rounding of 0) can step either way on the two backends by up to lr per
// step: every weight must agree within that, and all but one in a thousand within 1e-4.
inline void check_weights_after_adam(const std::vector<float>& got, const std::vector<float>& want, double lr,
                                     int steps) {
  REQUIRE(got.size() == want.size());
  std::size_t loose = 0;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double diff = std::abs(double(got[i]) - double(want[i]));
    worst = std::max(worst, diff);
    loose += diff > 1e-4 * std::max(1.0, std::abs(double(want[i])));
  }
  CHECK(worst <= 2 * lr * steps + 1e-4);
  CHECK(loose * 1000 <= got.size());
}

template <class Be>
fs::path temp_dir(const char* name) {
  const fs::path dir = fs::temp_directory_path() / ("rlhf_" + std::string(Be::name) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST_CASE_TEMPLATE_DEFINE("model parity: GPT: logits, LM loss and every gradient equal the CPU backend's", Be,
                          model_parity_gpt) {
  GPT<float, cpu> ref(byte_model());
  ref.init_weights(3);
  GPT<float, Be> model(byte_model());
  copy_weights<Be>(ref, model);
  const Batch b;

  const auto ids_c = Batch::tensor<cpu>(b.ids), pos_c = Batch::tensor<cpu>(b.positions),
             tgt_c = Batch::tensor<cpu>(b.targets);
  const auto km_c = Batch::tensor<cpu>(b.key_mask), lm_c = Batch::tensor<cpu>(b.loss_mask);
  const auto ids_g = Batch::tensor<Be>(b.ids), pos_g = Batch::tensor<Be>(b.positions),
             tgt_g = Batch::tensor<Be>(b.targets);
  const auto km_g = Batch::tensor<Be>(b.key_mask), lm_g = Batch::tensor<Be>(b.loss_mask);

  ref.zero_grad();
  model.zero_grad();
  const auto logits_c = ref.forward(ids_c.cview(), pos_c.cview(), km_c.cview());
  const auto logits_g = model.forward(ids_g.cview(), pos_g.cview(), km_g.cview());
  const std::vector<float> want_logits(logits_c.data(), logits_c.data() + logits_c.numel());
  CHECK(compare::max_rel_error(host<float, Be>(logits_g), want_logits) <= 1e-5);
  const float loss_c = ref.lm_loss(tgt_c.cview(), lm_c.cview()), loss_g = model.lm_loss(tgt_g.cview(), lm_g.cview());
  CHECK(compare::max_rel_error(std::vector<float>{loss_g}, std::vector<float>{loss_c}) <= 1e-5);
  ref.backward_lm_loss();
  model.backward_lm_loss();
  CHECK(compare::max_rel_error(model.gradients().to_vector(), ref.gradients().to_vector()) <= 1e-4);

  // Log-probs and entropies at τ = 0.7, and their gradients.
  Tensor<float, cpu> logp_c(Shape{3, 12}), ent_c(Shape{3, 12});
  Tensor<float, Be> logp_g(Shape{3, 12}), ent_g(Shape{3, 12});
  std::vector<std::int32_t> chosen = b.ids;  // every target valid
  const auto ch_c = Batch::tensor<cpu>(chosen);
  const auto ch_g = Batch::tensor<Be>(chosen);
  ref.zero_grad();
  model.zero_grad();
  ref.forward(ids_c.cview(), pos_c.cview(), km_c.cview());
  model.forward(ids_g.cview(), pos_g.cview(), km_g.cview());
  ref.logprobs(logp_c.view(), ch_c.cview(), 0.7f, ent_c.view());
  model.logprobs(logp_g.view(), ch_g.cview(), 0.7f, ent_g.view());
  CHECK(compare::max_rel_error(logp_g.to_vector(), logp_c.to_vector()) <= 1e-5);
  CHECK(compare::max_rel_error(ent_g.to_vector(), ent_c.to_vector()) <= 1e-5);
  const std::vector<float> dl = compare::normal<float>(5, 1.0, 36), de = compare::normal<float>(6, 1.0, 36);
  const auto dl_c = Batch::tensor<cpu>(dl), de_c = Batch::tensor<cpu>(de);
  const auto dl_g = Batch::tensor<Be>(dl), de_g = Batch::tensor<Be>(de);
  ref.backward_logprobs(dl_c.cview(), de_c.cview());
  model.backward_logprobs(dl_g.cview(), de_g.cview());
  CHECK(compare::max_rel_error(model.gradients().to_vector(), ref.gradients().to_vector()) <= 1e-4);
}

// The header a user writes once against B (docs/tutorial.md, "A component of your own"):
// from the same parameters, the backend's values, parameter gradients and hidden-state gradients.
TEST_CASE_TEMPLATE_DEFINE("model parity: a user's component (examples/mlp_value_head.hpp) equals its CPU twin", Be,
                          model_parity_component) {
  const std::int64_t C = 768, H = 1024, N = 512;
  MLPValueHead<float, cpu> ref(C, H, N);
  MLPValueHead<float, Be> head(C, H, N);
  ref.init_weights(1);
  Be::copy_from_host(head.parameters().data(), ref.parameters().data(), ref.parameters().bytes());
  const std::vector<float> hidden = compare::normal<float>(3, 1.0, N * C), g = compare::normal<float>(4, 1.0, N);
  const Tensor<float, cpu> h_c = compare::tensor<cpu>(Shape{N, C}, hidden), g_c = compare::tensor<cpu>(Shape{N}, g);
  const Tensor<float, Be> h_g = compare::tensor<Be>(Shape{N, C}, hidden), g_g = compare::tensor<Be>(Shape{N}, g);
  const auto v_c = ref.forward(h_c.cview());
  const auto v_g = head.forward(h_g.cview());
  CHECK(compare::max_rel_error(host<float, Be>(v_g), std::vector<float>(v_c.data(), v_c.data() + N)) <= 1e-5);
  Tensor<float, cpu> dh_c(Shape{N, C});
  Tensor<float, Be> dh_g(Shape{N, C});
  ref.backward(g_c.cview(), dh_c.view(), h_c.cview());
  head.backward(g_g.cview(), dh_g.view(), h_g.cview());
  CHECK(compare::max_rel_error(head.gradients().to_vector(), ref.gradients().to_vector()) <= 1e-4);
  CHECK(compare::max_rel_error(dh_g.to_vector(), dh_c.to_vector()) <= 1e-4);
}

TEST_CASE_TEMPLATE_DEFINE("model parity: generation: the CPU backend's tokens for the same seed, greedy and sampled",
                          Be, model_parity_generation) {
  GPT<float, cpu> ref(byte_model());
  ref.init_weights(4);
  GPT<float, Be> model(byte_model());
  copy_weights<Be>(ref, model);
  const std::vector<std::vector<std::int32_t>> prompts{{72, 101, 108}, {65}, {10, 20, 30, 40, 50}};
  for (const double temperature : {0.0, 1.0}) {
    CAPTURE(temperature);
    rlhf::GenerationConfig config;
    config.max_new_tokens = 16;
    config.sampling.temperature = temperature;
    config.sampling.top_k = temperature > 0 ? 40 : 0;
    config.seed = 11;
    const auto want = rlhf::generate(ref, prompts, config);
    const auto got = rlhf::generate(model, prompts, config);
    CHECK(got.tokens.to_vector() == want.tokens.to_vector());
    CHECK(compare::max_rel_error(got.logprobs.to_vector(), want.logprobs.to_vector()) <= 1e-4);
  }
}

TEST_CASE_TEMPLATE_DEFINE("model parity: SFT step: loss and updated weights equal the CPU backend's", Be,
                          model_parity_sft) {
  const fs::path dir = temp_dir<Be>("sft");
  {
    std::ofstream out(dir / "sft.jsonl");
    for (int i = 0; i < 16; ++i)
      out << R"({"prompt": "say )" << i << R"(:", "completion": " ok )" << i << R"("})" << '\n';
  }
  const rlhf::data::ByteTokenizer tok;
  const auto data = rlhf::data::load_sft_jsonl(dir / "sft.jsonl", tok, 32);
  rlhf::train::SFTConfig config;
  config.batch_size = 8;
  config.micro_batch_size = 4;
  config.max_steps = 2;
  config.learning_rate = 3e-3;
  config.seed = 5;
  GPT<float, cpu> ref(byte_model());
  ref.init_weights(1);
  GPT<float, Be> model(byte_model());
  copy_weights<Be>(ref, model);
  const auto split = rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::count(4), 1);
  rlhf::train::SFTTrainer<float, cpu> want(ref, data, split, config);
  rlhf::train::SFTTrainer<float, Be> got(model, data, split, config);
  for (int step = 0; step < 2; ++step) {
    const nlohmann::json a = want.step(), b = got.step();
    CHECK(std::abs(b["train/loss"].get<double>() - a["train/loss"].get<double>()) <=
          1e-5 * a["train/loss"].get<double>());
  }
  check_weights_after_adam(model.parameters().to_vector(), ref.parameters().to_vector(), config.learning_rate, 2);
  CHECK(std::abs(got.evaluate().loss - want.evaluate().loss) <= 1e-4);
  fs::remove_all(dir);
}

TEST_CASE_TEMPLATE_DEFINE("model parity: reward-model step: loss and updated weights equal the CPU backend's", Be,
                          model_parity_reward) {
  const fs::path dir = temp_dir<Be>("reward");
  {
    std::ofstream out(dir / "pairs.jsonl");
    for (int i = 0; i < 12; ++i)
      out << R"({"prompt": "q)" << i << R"(", "chosen": "good )" << std::string(std::size_t(1 + i % 4), 'a')
          << R"(", "rejected": "bad )" << std::string(std::size_t(1 + i % 3), 'b') << R"("})" << '\n';
  }
  const rlhf::data::ByteTokenizer tok;
  const auto data = rlhf::data::load_preference_jsonl(dir / "pairs.jsonl", tok, 32);
  rlhf::train::RewardConfig config;
  config.batch_size = 6;
  RewardModel<float, cpu> ref(byte_model());
  ref.init_weights(2);
  RewardModel<float, Be> model(byte_model());
  Be::copy_from_host(model.gpt().parameters().data(), ref.gpt().parameters().data(), ref.gpt().parameters().bytes());
  const auto split = rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::count(2), 0);
  rlhf::train::RewardTrainer<float, cpu> want(ref, data, split, config);
  rlhf::train::RewardTrainer<float, Be> got(model, data, split, config);
  const nlohmann::json a = want.step(), b = got.step();
  CHECK(std::abs(b["train/loss"].get<double>() - a["train/loss"].get<double>()) <=
        1e-5 * std::abs(a["train/loss"].get<double>()));
  check_weights_after_adam(model.gpt().parameters().to_vector(), ref.gpt().parameters().to_vector(),
                           config.learning_rate, 1);
  fs::remove_all(dir);
}

TEST_CASE_TEMPLATE_DEFINE("model parity: PPO step: rollout and updated policy and value model equal the CPU backend's",
                          Be, model_parity_ppo) {
  rlhf::nn::GPTConfig c = byte_model();
  c.vocab_size = 16;
  std::vector<std::vector<std::int32_t>> prompts;
  for (int i = 0; i < 8; ++i) prompts.push_back(std::vector<std::int32_t>(std::size_t(1 + i % 3), std::int32_t(1 + i)));
  const rlhf::train::Scorer<float> score = [](const rlhf::train::Rollout<float>& r) {
    std::vector<float> s;
    for (const auto& resp : r.responses) s.push_back(float(resp.size() % 3));
    return s;
  };
  rlhf::train::PPOConfig config;
  config.batch_size = 8;
  config.mini_batch_size = 4;
  config.ppo_epochs = 2;
  config.max_new_tokens = 6;
  config.learning_rate = 1e-3;
  config.sampling.temperature = 0.7;

  GPT<float, cpu> policy_c(c), reference_c(c, rlhf::nn::Trainable::no);
  RewardModel<float, cpu> value_c(c);
  policy_c.init_weights(7);
  std::memcpy(reference_c.parameters().data(), policy_c.parameters().data(), policy_c.parameters().bytes());
  value_c.init_weights(8);
  GPT<float, Be> policy_g(c), reference_g(c, rlhf::nn::Trainable::no);
  RewardModel<float, Be> value_g(c);
  copy_weights<Be>(policy_c, policy_g);
  copy_weights<Be>(policy_c, reference_g);
  Be::copy_from_host(value_g.gpt().parameters().data(), value_c.gpt().parameters().data(),
                     value_c.gpt().parameters().bytes());

  const std::vector<float> value_before = value_c.gpt().parameters().to_vector();
  rlhf::train::PPOTrainer<float, cpu> want(policy_c, reference_c, value_c, score, prompts, 0, config);
  rlhf::train::PPOTrainer<float, Be> got(policy_g, reference_g, value_g, score, prompts, 0, config);
  const nlohmann::json a = want.step(), b = got.step();
  for (const char* key : {"objective/scores", "objective/kl", "policy/loss", "value/loss"}) {
    CAPTURE(key);
    CHECK(std::abs(b[key].get<double>() - a[key].get<double>()) <=
          1e-4 * std::max(1.0, std::abs(a[key].get<double>())));
  }
  // 2 epochs × 2 minibatches of AdamW steps.
  check_weights_after_adam(policy_g.parameters().to_vector(), policy_c.parameters().to_vector(), config.learning_rate,
                           4);
  check_weights_after_adam(value_g.gpt().parameters().to_vector(), value_c.gpt().parameters().to_vector(),
                           config.learning_rate, 4);
  CHECK(b["value/loss"].get<double>() > 0);  // the value model trains on this backend's schedule too
  CHECK(value_g.gpt().parameters().to_vector() != value_before);
}

// One PPO iteration at the default pipeline's shape (configs/default.json: bytes, 4 layers of
// 128, 8 episodes of up to 16 + 40 tokens, one minibatch), policy and value model trained, the
// reward model scoring, as the pipeline has them; then two more updates on that rollout. On Be
// as on the CPU: the same rollout and metrics, the value loss positive and falling, every
// trainable model moved (the value model's by the same step) and the frozen ones untouched.
TEST_CASE_TEMPLATE_DEFINE(
    "model parity: PPO at the default pipeline's shape: rollout, metrics and both updates equal the CPU backend's", Be,
    model_parity_ppo_pipeline_shape) {
  const rlhf::nn::GPTConfig c = testing::default_pipeline_model();
  std::vector<std::vector<std::int32_t>> prompts;
  const rlhf::PhiloxStream rng{11, 0};
  for (int i = 0; i < 16; ++i) {
    std::vector<std::int32_t> q(std::size_t(8 + rng.word(std::uint64_t(i) * 64) % 9));
    for (std::size_t j = 0; j < q.size(); ++j) q[j] = 1 + std::int32_t(rng.word(std::uint64_t(i) * 64 + 1 + j) % 255);
    prompts.push_back(q);
  }
  rlhf::train::PPOConfig config = testing::default_pipeline_ppo();
  config.seed = 3;

  GPT<float, cpu> policy_c(c), reference_c(c, rlhf::nn::Trainable::no);
  RewardModel<float, cpu> value_c(c), reward_c(c, cpu{}, rlhf::nn::Trainable::no);
  policy_c.init_weights(1);
  std::memcpy(reference_c.parameters().data(), policy_c.parameters().data(), policy_c.parameters().bytes());
  value_c.init_weights(2);
  std::memcpy(reward_c.gpt().parameters().data(), value_c.gpt().parameters().data(),
              value_c.gpt().parameters().bytes());
  GPT<float, Be> policy_g(c), reference_g(c, rlhf::nn::Trainable::no);
  RewardModel<float, Be> value_g(c), reward_g(c, Be{}, rlhf::nn::Trainable::no);
  copy_weights<Be>(policy_c, policy_g);
  copy_weights<Be>(policy_c, reference_g);
  Be::copy_from_host(value_g.gpt().parameters().data(), value_c.gpt().parameters().data(),
                     value_c.gpt().parameters().bytes());
  Be::copy_from_host(reward_g.gpt().parameters().data(), value_c.gpt().parameters().data(),
                     value_c.gpt().parameters().bytes());
  const std::vector<float> policy_start = policy_c.parameters().to_vector(),
                           value_start = value_c.gpt().parameters().to_vector();

  constexpr std::int32_t eos = 256;
  rlhf::train::PPOTrainer<float, cpu> want(policy_c, reference_c, value_c,
                                           rlhf::train::reward_model_scorer(reward_c, eos), prompts, eos, config);
  rlhf::train::PPOTrainer<float, Be> got(policy_g, reference_g, value_g,
                                         rlhf::train::reward_model_scorer(reward_g, eos), prompts, eos, config);
  const nlohmann::json a = want.step(), b = got.step();
  CHECK(got.last_rollout().responses == want.last_rollout().responses);
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (!it->is_number() || !b.contains(it.key())) continue;
    const std::string key = it.key();
    if (key.rfind("time/", 0) == 0 || key == "tokens/s") continue;  // timings
    const double want_value = *it, got_value = b[key];
    CAPTURE(key);
    CHECK(std::abs(got_value - want_value) <= 1e-3 * std::max(1.0, std::abs(want_value)));
  }
  CHECK(b["value/loss"].get<double>() > 0);
  CHECK(b["policy/first_ratio_error"].get<double>() <= 1e-5);
  double first = b["value/loss"].get<double>(), last = first;
  for (int i = 0; i < 2; ++i) {
    want.update();
    const nlohmann::json r = got.update();
    last = r["value/loss"];
  }
  CHECK(last < first);
  CHECK(policy_g.parameters().to_vector() != policy_start);
  CHECK(value_g.gpt().parameters().to_vector() != value_start);
  CHECK(reference_g.parameters().to_vector() == policy_start);
  CHECK(reward_g.gpt().parameters().to_vector() == value_start);
  check_weights_after_adam(policy_g.parameters().to_vector(), policy_c.parameters().to_vector(), config.learning_rate,
                           3);
  check_weights_after_adam(value_g.gpt().parameters().to_vector(), value_c.gpt().parameters().to_vector(),
                           config.learning_rate, 3);
}

}  // namespace model_parity
