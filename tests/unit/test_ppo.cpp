// PPOTrainer: the traps of DESIGN.md, each tested — the first ratio is 1 (log-probs at rollout
// and update agree, temperature ≠ 1), frozen models stay bit-identical and hold no gradients,
// the score lands on the last response token under left padding, with EOS and when truncated,
// a very large β keeps the policy at the reference — and PPO raising a programmatic reward.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <cstring>
#include <vector>

#include "error_of.hpp"
#include "gradcheck.hpp"
#include "temp_dir.hpp"
#include "below_training.hpp"
#include "rlhf/train/ppo.hpp"
#include "rlhf/train/run_directory.hpp"

namespace test_ppo {

using rlhf::cpu;
using rlhf::Tensor;
using rlhf::nn::GPT;
using rlhf::nn::RewardModel;
using rlhf::nn::Trainable;
using Trainer = rlhf::train::PPOTrainer<float, cpu>;

namespace {

constexpr std::int32_t eos = 0, liked = 7;

rlhf::nn::GPTConfig small() {
  rlhf::nn::GPTConfig c;
  c.vocab_size = 16;
  c.n_positions = 32;
  c.n_embd = 32;
  c.n_layer = 2;
  c.n_head = 2;
  return c;
}

std::vector<std::vector<std::int32_t>> prompts() {
  std::vector<std::vector<std::int32_t>> p;
  const rlhf::PhiloxStream rng{5, 0};
  for (int i = 0; i < 24; ++i) {
    std::vector<std::int32_t> q;
    for (int j = 0; j < 1 + i % 4; ++j) q.push_back(1 + std::int32_t(rng.word(std::uint64_t(i * 8 + j)) % 15));
    p.push_back(q);  // 1-4 tokens: left padding in every batch
  }
  return p;
}

// Share of the response's tokens that are `liked` (the EOS excluded).
rlhf::train::Scorer<float> liked_share() {
  return [](const rlhf::train::Rollout<float>& r) {
    std::vector<float> s;
    for (const auto& resp : r.responses) {
      int n = 0;
      for (std::int32_t t : resp) n += t == liked;
      s.push_back(resp.empty() ? 0.0f : float(n) / float(resp.size()));
    }
    return s;
  };
}

// Policy and reference from the same "SFT" weights, a value model from a "reward model".
struct Models {
  GPT<float, cpu> policy{small()};
  GPT<float, cpu> reference{small(), Trainable::no};
  RewardModel<float, cpu> value{small()};
  explicit Models(std::uint64_t seed) {
    policy.init_weights(seed);
    rlhf::fill_normal(cpu{}, policy.parameters().view(), rlhf::PhiloxStream{seed, 77}, 0, 0.0f, 0.1f);
    std::memcpy(reference.parameters().data(), policy.parameters().data(), policy.parameters().bytes());
    value.init_weights(seed + 1);
  }
};

rlhf::train::PPOConfig base_config() {
  rlhf::train::PPOConfig c;
  c.batch_size = 16;
  c.mini_batch_size = 8;
  c.micro_batch_size = 4;
  c.ppo_epochs = 2;
  c.max_new_tokens = 10;
  c.learning_rate = 1e-3;
  c.sampling.temperature = 0.7;
  c.kl_coef = 0.05;
  return c;
}

}  // namespace

TEST_CASE("ppo trainer: at the first minibatch of the first epoch every ratio is 1 (temperature 0.7)") {
  Models m(1);
  const auto p = prompts();
  rlhf::train::PPOTrainer<float, cpu> trainer(m.policy, m.reference, m.value, liked_share(), p, eos, base_config());
  for (int i = 0; i < 3; ++i) {
    const auto record = trainer.step();
    MESSAGE("iteration ", i + 1,
            ": max |ratio - 1| at the first minibatch = ", record["policy/first_ratio_error"].get<double>());
    CHECK(record["policy/first_ratio_error"].get<double>() <= 1e-5);
  }
}

TEST_CASE("ppo trainer: frozen models stay bit-identical and hold no gradients; trained ones move") {
  Models m(2);
  RewardModel<float, cpu> rm(small(), Trainable::no);
  rm.init_weights(9);
  CHECK(m.reference.gradients().numel() == 0);
  CHECK(rm.gpt().gradients().numel() == 0);
  CHECK_THROWS_WITH(m.reference.zero_grad(),
                    "GPT::zero_grad: the model is frozen (built with Trainable::no): it has no gradients");
  const auto ref_before = m.reference.parameters().to_vector(), rm_before = rm.gpt().parameters().to_vector();
  const auto policy_before = m.policy.parameters().to_vector(), value_before = m.value.gpt().parameters().to_vector();
  const auto p = prompts();
  rlhf::train::PPOTrainer<float, cpu> trainer(m.policy, m.reference, m.value, rlhf::train::reward_model_scorer(rm, eos),
                                              p, eos, base_config());
  for (int i = 0; i < 2; ++i) trainer.step();
  const auto ref_after = m.reference.parameters().to_vector(), rm_after = rm.gpt().parameters().to_vector();
  CHECK(std::memcmp(ref_before.data(), ref_after.data(), ref_before.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(rm_before.data(), rm_after.data(), rm_before.size() * sizeof(float)) == 0);
  CHECK(m.policy.parameters().to_vector() != policy_before);
  CHECK(m.value.gpt().parameters().to_vector() != value_before);
  // A trainable reference is refused: it would be updated by mistake sooner or later.
  GPT<float, cpu> not_frozen(small());
  CHECK_THROWS_WITH(Trainer(m.policy, not_frozen, m.value, liked_share(), p, eos, base_config()),
                    "PPOTrainer: the reference model must be frozen (GPT built with Trainable::no)");
}

TEST_CASE("ppo trainer: the score lands on the last response token — left padding, EOS, truncation") {
  Models m(3);
  const auto p = prompts();
  auto cfg = base_config();
  cfg.max_new_tokens = 6;
  rlhf::train::PPOTrainer<float, cpu> trainer(
      m.policy, m.reference, m.value,
      [](const rlhf::train::Rollout<float>& r) {
        std::vector<float> s;
        for (std::size_t b = 0; b < r.responses.size(); ++b) s.push_back(10.0f + float(b));
        return s;
      },
      p, eos, cfg);
  const auto& r = trainer.rollout();
  const auto& g = r.generation;
  const std::int64_t Bn = r.mask.size(0), A = r.mask.size(1), P = g.prompt_length;
  bool saw_eos = false, saw_truncated = false, saw_left_pad = false;
  for (std::int64_t b = 0; b < Bn; ++b) {
    const std::int64_t n = g.response_lengths[std::size_t(b)];
    // Action j is the token at column j + 1: the response occupies actions [P − 1, P − 1 + n).
    const std::int64_t last = P - 1 + n - 1;
    for (std::int64_t j = 0; j < A; ++j) {
      CHECK(r.mask(b, j) == ((j >= P - 1 && j <= last) ? 1.0f : 0.0f));
      const float penalty = -float(trainer.kl_coef()) * r.kl(b, j);
      CHECK(r.rewards(b, j) == doctest::Approx(penalty + (j == last ? 10.0f + float(b) : 0.0f)));
    }
    saw_eos |= r.ended[std::size_t(b)];
    saw_truncated |= !r.ended[std::size_t(b)] && n == cfg.max_new_tokens;
    saw_left_pad |= g.attention_mask(b, 0) == 0.0f;
    if (r.ended[std::size_t(b)]) CHECK(g.tokens(b, P + n - 1) == eos);
  }
  CHECK(saw_left_pad);
  CHECK(saw_truncated);
  CHECK(saw_eos);
}

TEST_CASE("ppo trainer: with a very large beta the policy stays at the reference") {
  const auto p = prompts();
  auto run = [&](double beta) {
    Models m(4);
    auto cfg = base_config();
    cfg.kl_coef = beta;
    cfg.learning_rate = 3e-3;
    rlhf::train::PPOTrainer<float, cpu> trainer(m.policy, m.reference, m.value, liked_share(), p, eos, cfg);
    double kl = 0;
    for (int i = 0; i < 12; ++i) kl = trainer.step()["objective/kl"].get<double>();
    return kl;
  };
  const double free_kl = run(0.0), held_kl = run(50.0);
  MESSAGE("KL after 12 iterations: beta 0 -> ", free_kl, ", beta 50 -> ", held_kl);
  CHECK(std::abs(held_kl) < 0.1);
  CHECK(free_kl > 5 * std::abs(held_kl));
}

TEST_CASE("ppo trainer: PPO raises a programmatic reward within a few dozen iterations, KL bounded") {
  const auto start = std::chrono::steady_clock::now();
  Models m(5);
  const auto p = prompts();
  auto cfg = base_config();
  cfg.batch_size = 32;
  cfg.mini_batch_size = 8;
  cfg.ppo_epochs = 4;
  cfg.learning_rate = 2e-3;
  cfg.kl_coef = 0.02;
  cfg.sampling.temperature = 1.0;
  rlhf::train::PPOTrainer<float, cpu> trainer(m.policy, m.reference, m.value, liked_share(), p, eos, cfg);
  double first = 0, last = 0, kl = 0;
  for (int i = 0; i < 40; ++i) {
    const auto r = trainer.step();
    if (i < 3) first += r["objective/scores"].get<double>() / 3;
    if (i >= 37) last += r["objective/scores"].get<double>() / 3;
    kl = r["objective/kl"].get<double>();
    for (const char* key :
         {"policy/loss", "value/loss", "objective/entropy", "value/explained_variance", "returns/var"})
      REQUIRE(std::isfinite(r[key].get<double>()));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("mean score ", first, " -> ", last, ", final KL ", kl, ", ", seconds, " s");
  CHECK(last > first + 0.25);
  CHECK(kl < 20);
  CHECK(seconds < 60);
}

TEST_CASE("ppo trainer: PPO-ptx adds the pretraining loss; the adaptive KL coefficient moves") {
  Models m(6);
  const auto p = prompts();
  std::vector<rlhf::data::SftExample> texts;
  for (int i = 0; i < 8; ++i) {
    const std::vector<std::int32_t> t{3, 4, 5, 6, 3, 4, 5, 6};
    texts.push_back(rlhf::data::make_sft_example({}, t, eos, 16));
  }
  const rlhf::data::SftDataset ptx(rlhf::data::SftFormat::text, 16, texts, {});
  auto cfg = base_config();
  cfg.ptx_coef = 0.5;
  cfg.adaptive_kl = true;
  cfg.kl_target = 1e-3;  // far below what the policy reaches: β must rise
  cfg.kl_horizon = 100;
  rlhf::train::PPOTrainer<float, cpu> trainer(m.policy, m.reference, m.value, liked_share(), p, eos, cfg, &ptx);
  const double beta0 = trainer.kl_coef();
  double ptx_first = 0, ptx_last = 0;
  for (int i = 0; i < 6; ++i) {
    const auto r = trainer.step();
    (i == 0 ? ptx_first : ptx_last) = r["ptx/loss"].get<double>();
  }
  MESSAGE("ptx loss ", ptx_first, " -> ", ptx_last, "; beta ", beta0, " -> ", trainer.kl_coef());
  CHECK(ptx_first > 0);
  CHECK(ptx_last < ptx_first);
  CHECK(trainer.kl_coef() > beta0);
}

TEST_CASE("GPT gradient check (double, 2 layers): log-probs and entropy at temperature 0.7") {
  rlhf::nn::GPTConfig c;
  c.vocab_size = 13;
  c.n_positions = 8;
  c.n_embd = 8;
  c.n_layer = 2;
  c.n_head = 2;
  GPT<double, cpu> model(c);
  rlhf::fill_normal(cpu{}, model.parameters().view(), rlhf::PhiloxStream{8, 0}, 0, 0.0, 0.3);
  const Tensor<std::int32_t, cpu> ids({2, 4}, {1, 5, 9, 2, 0, 3, 12, 4});
  const Tensor<std::int32_t, cpu> pos({2, 4}, {0, 1, 2, 3, 0, 0, 1, 2});
  const Tensor<double, cpu> mask({2, 4}, {1, 1, 1, 1, 0, 1, 1, 1});
  const gradcheck::Tensor up_logp = gradcheck::randn({2, 4}, 3), up_ent = gradcheck::randn({2, 4}, 4);
  Tensor<double, cpu> logp({2, 4}), ent({2, 4});
  auto loss = [&] {
    model.forward(ids, pos, mask);
    model.logprobs(logp.view(), ids, 0.7, ent.view());
    return gradcheck::dot(up_logp, logp) + gradcheck::dot(up_ent, ent);
  };
  model.zero_grad();
  loss();
  model.backward_logprobs(up_logp, up_ent);
  const double err = gradcheck::whole_model_error(model.parameters(), model.gradients(), loss);
  MESSAGE("relative error ", err);
  CHECK(err <= 1e-6);
}

TEST_CASE("ppo trainer: resume from a checkpoint continues bit-identically") {
  testing::TempDir dir;
  const auto p = prompts();
  auto cfg = base_config();
  cfg.adaptive_kl = true;
  auto params_after = [&](int before_save, int after_resume) {
    Models m(7);
    std::vector<float> policy, value;
    {
      Trainer t(m.policy, m.reference, m.value, liked_share(), p, eos, cfg);
      for (int i = 0; i < before_save; ++i) t.step();
      if (after_resume == 0)
        return std::pair{m.policy.parameters().to_vector(), m.value.gpt().parameters().to_vector()};
      t.save(dir / "ckpt");
    }
    Models fresh(99);  // other weights: resume must overwrite them all
    std::memcpy(fresh.reference.parameters().data(), m.reference.parameters().data(), m.reference.parameters().bytes());
    Trainer t(fresh.policy, fresh.reference, fresh.value, liked_share(), p, eos, cfg);
    t.resume(dir / "ckpt");
    CHECK(t.iteration() == before_save);
    for (int i = 0; i < after_resume; ++i) t.step();
    return std::pair{fresh.policy.parameters().to_vector(), fresh.value.gpt().parameters().to_vector()};
  };
  const auto straight = params_after(4, 0);
  const auto resumed = params_after(2, 2);
  CHECK(std::memcmp(straight.first.data(), resumed.first.data(), straight.first.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(straight.second.data(), resumed.second.data(), straight.second.size() * sizeof(float)) == 0);
  CHECK(std::filesystem::exists(dir / "ckpt" / "policy" / "model.safetensors"));
  CHECK(std::filesystem::exists(dir / "ckpt" / "value" / "optimizer.safetensors"));
}

TEST_CASE("ppo trainer: a NaN score stops the run naming the iteration, and the last checkpoint stays as it was") {
  const auto p = prompts();
  testing::TempDir tmp;
  const std::filesystem::path dir = tmp.path / "run";
  auto save = [](Trainer& t) { return [&t](const std::filesystem::path& d) { t.save(d); }; };
  // A clean run to iteration 2, and one whose scorer returns a NaN at iteration 3.
  Models clean_models(4), models(4);
  Trainer clean(clean_models.policy, clean_models.reference, clean_models.value, liked_share(), p, eos, base_config());
  int calls = 0;
  const rlhf::train::Scorer<float> nan_at_3 = [&calls](const rlhf::train::Rollout<float>& r) {
    std::vector<float> s = liked_share()(r);
    if (++calls == 3) s[1] = std::numeric_limits<float>::quiet_NaN();
    return s;
  };
  Trainer t(models.policy, models.reference, models.value, nan_at_3, p, eos, base_config());
  rlhf::train::RunDirectory run(dir, 3);
  for (int i = 0; i < 2; ++i) {
    clean.step();
    t.step();
    run.commit_checkpoint(t.iteration(), save(t));
  }
  const std::string e = testing::error_of([&] { t.step(); });
  CHECK(e == "PPO iteration 3: PPOTrainer: the score of episode 1 is nan");
  REQUIRE(run.latest_checkpoint());
  CHECK(*run.latest_checkpoint() == dir / "checkpoint-2");
  // checkpoint-2 holds the clean run's weights at iteration 2, bit for bit.
  GPT<float, cpu> back(small());
  rlhf::io::load_weights(dir / "checkpoint-2" / "policy", back);
  CHECK(std::memcmp(back.parameters().data(), clean_models.policy.parameters().data(), back.parameters().bytes()) == 0);
}

TEST_CASE("ppo trainer: a loss that turns non-finite stops the iteration before that minibatch's update") {
  Models m(5);
  const auto p = prompts();
  auto cfg = base_config();
  cfg.max_grad_norm = 0;  // no clipping: the loss check, not the gradient norm's, must catch it
  Trainer t(m.policy, m.reference, m.value, liked_share(), p, eos, cfg);
  t.step();
  // Value-model weights of 1e30 make its values, and so the value loss, overflow float.
  rlhf::fill_constant(cpu{}, m.value.gpt().parameters().view(), 1e30f);
  CHECK(testing::error_of([&] { t.step(); }).starts_with("PPO iteration 2: PPOTrainer: a non-finite loss in epoch 1"));
}

}  // namespace test_ppo
