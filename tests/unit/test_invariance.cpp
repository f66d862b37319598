// Invariance: the same work under every execution plan gives the same result. A plan is a
// schedule only (how many OpenMP threads; whether independent parts of a step run side by side,
// forced both ways through cpu::side_by_side; how a batch is cut into micro-batches), so each
// test runs one piece of training under several plans, at a small shape and at the default
// pipeline's (configs/default.json), and checks what must hold:
//   - every trainable model's weights change in every update (PPO's value model too), frozen
//     ones do not, and the value model's loss is positive and falls on a fixed rollout;
//   - the same plan twice gives the same bits (the thread count fixes every reduction's order);
//   - plans that differ agree within a stated tolerance. Why that tolerance: a plan changes
//     float summation orders (rounding ~1e-7 relative), and AdamW's first steps divide by
//     |gradient|, so a weight's update keeps the sign of its gradient and is otherwise nearly
//     the same; the updates of two plans then differ by ~1e-5 of their norm, and 1e-2 leaves
//     room for a few steps of growth while a skipped or doubled pass (a difference of order 1)
//     cannot pass.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "count_a_rankings.hpp"
#include "default_pipeline_shape.hpp"
#include "omp_threads.hpp"
#include "temp_dir.hpp"
#include "rlhf/data/byte_tokenizer.hpp"
#include "below_training.hpp"
#include "rlhf/train/ppo.hpp"
#include "rlhf/train/reward.hpp"
#include "rlhf/train/sft.hpp"

namespace test_invariance {

namespace fs = std::filesystem;
using rlhf::cpu;
using rlhf::SideBySide;
using rlhf::nn::GPT;
using rlhf::nn::GPTConfig;
using rlhf::nn::RewardModel;
using rlhf::nn::Trainable;

namespace {

struct Plan {
  int threads;
  SideBySide side;
  std::string name() const {
    const char* s = side == SideBySide::always ? "side by side" : side == SideBySide::never ? "in turn" : "automatic";
    return std::to_string(threads) + (threads == 1 ? " thread, " : " threads, ") + s;
  }
  cpu backend() const { return cpu{.side_by_side = side}; }
};

// Every forced schedule on one and two threads; the reference is what the pipeline runs.
const Plan reference_plan{2, SideBySide::automatic};
const std::vector<Plan> forced_plans{
    {1, SideBySide::never}, {1, SideBySide::always}, {2, SideBySide::never}, {2, SideBySide::always}};

// The two model shapes: a small one, and configs/default.json's (byte vocabulary, 4 × 128).
struct ModelShape {
  const char* name;
  GPTConfig model;
  std::int64_t prompt_min, prompt_max;  // prompt lengths for PPO and generation
};
GPTConfig gpt_config(std::int64_t V, std::int64_t positions, std::int64_t C, std::int64_t L, std::int64_t H) {
  GPTConfig c;
  c.vocab_size = V;
  c.n_positions = positions;
  c.n_embd = C;
  c.n_layer = L;
  c.n_head = H;
  return c;
}
const ModelShape small_shape{"small", gpt_config(16, 32, 32, 2, 2), 1, 4};
const ModelShape pipeline_shape{"default pipeline", testing::default_pipeline_model(), 8, 16};

std::vector<std::vector<std::int32_t>> make_prompts(const ModelShape& s, int count, std::uint64_t seed) {
  std::vector<std::vector<std::int32_t>> p;
  const rlhf::PhiloxStream rng{seed, 0};
  const auto span = std::uint64_t(s.prompt_max - s.prompt_min + 1);
  for (int i = 0; i < count; ++i) {
    std::vector<std::int32_t> q(std::size_t(s.prompt_min + std::int64_t(rng.word(std::uint64_t(i) * 64) % span)));
    for (std::size_t j = 0; j < q.size(); ++j)  // no EOS (id 0 on the small vocabulary, 256 on bytes)
      q[j] = 1 + std::int32_t(rng.word(std::uint64_t(i) * 64 + 1 + j) %
                              std::uint64_t(s.model.vocab_size == 257 ? 255 : 15));
    p.push_back(q);
  }
  return p;
}
std::int32_t eos_of(const ModelShape& s) { return s.model.vocab_size == 257 ? 256 : 0; }

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// ‖a − b‖ / ‖b‖.
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
    n += double(b[i]) * double(b[i]);
  }
  return n > 0 ? std::sqrt(d / n) : std::sqrt(d);
}

std::vector<float> minus(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<float> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

// The numbers of a metrics record, without its timings (which no plan reproduces).
std::vector<std::pair<std::string, double>> numbers(const nlohmann::json& record) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [key, value] : record.items())
    if (value.is_number() && key.rfind("time/", 0) != 0 && key != "tokens/s" &&
        key.find("per_second") == std::string::npos)
      out.emplace_back(key, value.get<double>());
  return out;
}

void check_close_records(const nlohmann::json& a, const nlohmann::json& b, double rtol, const std::string& what) {
  const auto x = numbers(a), y = numbers(b);
  REQUIRE(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO(what, ": ", x[i].first, " = ", x[i].second, " vs ", y[i].second);
    CHECK(std::abs(x[i].second - y[i].second) <= rtol * std::max(1.0, std::abs(y[i].second)));
  }
}

void check_same_records(const nlohmann::json& a, const nlohmann::json& b, const std::string& what) {
  const auto x = numbers(a), y = numbers(b);
  REQUIRE(x.size() == y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO(what, ": ", x[i].first, " = ", x[i].second, " vs ", y[i].second);
    CHECK(std::memcmp(&x[i].second, &y[i].second, sizeof(double)) == 0);
  }
}

// ---- PPO ------------------------------------------------------------------------------------

rlhf::train::PPOConfig ppo_config(const ModelShape& s) {
  rlhf::train::PPOConfig c;
  if (&s == &pipeline_shape) {
    c = testing::default_pipeline_ppo();
  } else {
    c.batch_size = 8;
    c.mini_batch_size = 4;
    c.ppo_epochs = 2;
    c.max_new_tokens = 8;
    c.sampling.temperature = 0.7;
    c.kl_coef = 0.05;
    c.learning_rate = 1e-3;
  }
  c.seed = 3;
  return c;
}

// A PPO run under one plan: SFT-like policy and reference, a value model from a reward model,
// and that reward model (frozen) as the scorer, as the pipeline has them.
struct PPORun {
  GPT<float, cpu> policy, reference;
  RewardModel<float, cpu> value, reward;
  std::vector<std::vector<std::int32_t>> prompts;
  std::vector<float> policy_start, value_start, reference_start, reward_start;
  std::vector<nlohmann::json> records;

  PPORun(const ModelShape& s, const Plan& plan)
      : policy(s.model, plan.backend()),
        reference(s.model, Trainable::no, plan.backend()),
        value(s.model, plan.backend()),
        reward(s.model, plan.backend(), Trainable::no),
        prompts(make_prompts(s, 40, 11)) {
    policy.init_weights(1);
    rlhf::fill_normal(cpu{}, policy.parameters().view(), rlhf::PhiloxStream{1, 77}, 0, 0.0f, 0.05f);
    std::memcpy(reference.parameters().data(), policy.parameters().data(), policy.parameters().bytes());
    value.init_weights(2);
    std::memcpy(reward.gpt().parameters().data(), value.gpt().parameters().data(), value.gpt().parameters().bytes());
    policy_start = policy.parameters().to_vector();
    value_start = value.gpt().parameters().to_vector();
    reference_start = reference.parameters().to_vector();
    reward_start = reward.gpt().parameters().to_vector();
  }
  rlhf::train::PPOTrainer<float, cpu> trainer(const ModelShape& s, rlhf::train::PPOConfig c) {
    return {policy, reference, value, rlhf::train::reward_model_scorer(reward, eos_of(s)), prompts, eos_of(s), c};
  }
  std::vector<float> policy_now() const { return policy.parameters().to_vector(); }
  std::vector<float> value_now() { return value.gpt().parameters().to_vector(); }
};

// Runs `iterations` PPO iterations under a plan, checking after each that both trained models
// moved, the frozen ones did not, and the value loss was positive.
void run_ppo(PPORun& run, const ModelShape& s, const Plan& plan, int iterations, rlhf::train::PPOConfig c) {
  const testing::OmpThreads threads(plan.threads);
  auto t = run.trainer(s, c);
  for (int i = 0; i < iterations; ++i) {
    const auto policy_before = run.policy_now(), value_before = run.value_now();
    run.records.push_back(t.step());
    const nlohmann::json& r = run.records.back();
    INFO(s.name, ", ", plan.name(), ", iteration ", i + 1);
    CHECK(r["value/loss"].get<double>() > 0);
    CHECK(r["policy/first_ratio_error"].get<double>() <= 1e-5);
    CHECK(run.policy_now() != policy_before);
    CHECK(run.value_now() != value_before);
  }
  CHECK(same_bits(run.reference.parameters().to_vector(), run.reference_start));
  CHECK(same_bits(run.reward.gpt().parameters().to_vector(), run.reward_start));
}

void ppo_invariance(const ModelShape& s) {
  const auto cfg = ppo_config(s);
  constexpr int iterations = 2;
  PPORun ref(s, reference_plan);
  run_ppo(ref, s, reference_plan, iterations, cfg);
  const auto dp_ref = minus(ref.policy_now(), ref.policy_start), dv_ref = minus(ref.value_now(), ref.value_start);
  // The same plan twice: the same bits.
  {
    PPORun again(s, reference_plan);
    run_ppo(again, s, reference_plan, iterations, cfg);
    CHECK(same_bits(again.policy_now(), ref.policy_now()));
    CHECK(same_bits(again.value_now(), ref.value_now()));
    for (int i = 0; i < iterations; ++i)
      check_same_records(again.records[std::size_t(i)], ref.records[std::size_t(i)], "rerun");
  }
  // Every forced schedule, and micro-batches of other sizes (the pipeline's automatic schedule).
  struct Variant {
    Plan plan;
    std::int64_t micro;
  };
  std::vector<Variant> variants;
  for (const Plan& p : forced_plans) variants.push_back({p, 0});
  for (std::int64_t micro : {std::int64_t(1), cfg.mini_batch_size / 2}) variants.push_back({reference_plan, micro});
  for (const Variant& v : variants) {
    auto c = cfg;
    c.micro_batch_size = v.micro;
    PPORun run(s, v.plan);
    run_ppo(run, s, v.plan, iterations, c);
    const std::string what = std::string(s.name) + ", " + v.plan.name() + ", micro-batch " + std::to_string(v.micro);
    INFO(what);
    // The first rollout is the same episodes: the same sampled tokens, the same statistics.
    CHECK(run.records[0]["response/length"] == ref.records[0]["response/length"]);
    check_close_records(run.records[0], ref.records[0], 1e-3, what);
    const double dp = relative_difference(minus(run.policy_now(), run.policy_start), dp_ref);
    const double dv = relative_difference(minus(run.value_now(), run.value_start), dv_ref);
    MESSAGE(what, ": updates differ from the reference plan's by ", dp, " (policy) and ", dv, " (value)");
    CHECK(dp <= 1e-2);
    CHECK(dv <= 1e-2);
  }
}

}  // namespace

TEST_CASE("invariance: the automatic schedule takes each branch at one of the two shapes") {
  // The small PPO step runs its two models side by side on two threads; the pipeline's does not.
  // The tests below force both at both shapes, so either branch is covered wherever it is taken.
  const testing::OmpThreads two(2);
  auto work = [](const ModelShape& s) {
    const auto c = ppo_config(s);
    const std::int64_t L = s.prompt_max + c.max_new_tokens, C = s.model.n_embd;
    return c.mini_batch_size * L * 12 * C * C * 3;
  };
  CHECK(rlhf::row_parts(cpu{}, 2, work(small_shape)) == 2);
  CHECK(rlhf::row_parts(cpu{}, 2, work(pipeline_shape)) == 1);
  CHECK(rlhf::row_parts(cpu{.side_by_side = SideBySide::always}, 2, work(pipeline_shape)) == 2);
  CHECK(rlhf::row_parts(cpu{.side_by_side = SideBySide::never}, 2, work(small_shape)) == 1);
  const testing::OmpThreads one(1);
  CHECK(rlhf::row_parts(cpu{}, 2, work(small_shape)) == 1);
  CHECK(rlhf::row_parts(cpu{.side_by_side = SideBySide::always}, 2, work(small_shape)) == 2);
}

TEST_CASE("invariance: run_tasks runs every task once, whatever the concurrency and thread count") {
  for (int threads : {1, 2})
    for (std::int64_t concurrency : {0, 1, 2, 3, 8}) {
      const testing::OmpThreads t(threads);
      std::vector<int> ran(5, 0);
      rlhf::run_tasks(cpu{}, 5, concurrency, [&](std::int64_t i) { ++ran[std::size_t(i)]; });
      INFO(threads, " threads, concurrency ", concurrency);
      CHECK(ran == std::vector<int>(5, 1));
    }
}

TEST_CASE("invariance: PPO iterations at the small shape under every schedule and micro-batch size") {
  ppo_invariance(small_shape);
}

TEST_CASE("invariance: PPO iterations at the default pipeline's shape under every schedule and micro-batch size") {
  ppo_invariance(pipeline_shape);
}

TEST_CASE("invariance: on a fixed rollout the value model's loss is positive and falls, under every schedule") {
  for (const ModelShape* s : {&small_shape, &pipeline_shape})
    for (const Plan& plan : forced_plans) {
      PPORun run(*s, plan);
      const testing::OmpThreads threads(plan.threads);
      auto t = run.trainer(*s, ppo_config(*s));
      t.rollout();
      std::vector<double> losses;
      for (int i = 0; i < 3; ++i) losses.push_back(t.update()["value/loss"].get<double>());
      INFO(s->name, ", ", plan.name(), ": value loss ", losses[0], " -> ", losses[2]);
      CHECK(losses[0] > 0);
      CHECK(losses[2] < losses[0]);
      CHECK(run.value_now() != run.value_start);
    }
}

// ---- Generation -----------------------------------------------------------------------------

TEST_CASE("invariance: generation under every schedule, and its log-probs equal the training forward's") {
  for (const ModelShape* s : {&small_shape, &pipeline_shape}) {
    const auto prompts = make_prompts(*s, s == &pipeline_shape ? 16 : 8, 5);
    rlhf::GenerationConfig g;
    g.max_new_tokens = s == &pipeline_shape ? 40 : 10;
    g.sampling.temperature = 0.8;
    g.eos_id = eos_of(*s);
    g.pad_id = eos_of(*s);
    g.seed = 9;
    auto generate_under = [&](const Plan& plan) {
      const testing::OmpThreads threads(plan.threads);
      GPT<float, cpu> model(s->model, Trainable::no, plan.backend());
      model.init_weights(4);
      rlhf::fill_normal(cpu{}, model.parameters().view(), rlhf::PhiloxStream{4, 77}, 0, 0.0f, 0.05f);
      auto out = rlhf::generate(model, prompts, g);
      // The training forward over the same tokens, masks and positions.
      const std::int64_t Bn = out.tokens.size(0), L = out.tokens.size(1);
      rlhf::Tensor<std::int32_t, cpu> targets(rlhf::Shape{Bn, L});
      for (std::int64_t b = 0; b < Bn; ++b)
        for (std::int64_t t = 0; t + 1 < L; ++t) targets(b, t) = out.tokens(b, t + 1);
      model.forward(out.tokens, out.positions, out.attention_mask);
      rlhf::Tensor<float, cpu> logp(rlhf::Shape{Bn, L});
      model.logprobs(logp.view(), targets, float(g.sampling.temperature));
      double worst = 0;
      for (std::int64_t b = 0; b < Bn; ++b)
        for (std::int64_t t = 0; t + 1 < L; ++t)
          if (out.response_mask(b, t + 1) != 0)
            worst = std::max(worst, std::abs(double(logp(b, t)) - double(out.logprobs(b, t + 1))));
      INFO(s->name, ", ", plan.name(), ": KV-cached vs full forward log-probs differ by up to ", worst);
      CHECK(worst <= 2e-5);
      return out;
    };
    const auto ref = generate_under(reference_plan);
    const auto again = generate_under(reference_plan);
    CHECK(again.tokens.to_vector() == ref.tokens.to_vector());
    CHECK(same_bits(again.logprobs.to_vector(), ref.logprobs.to_vector()));
    for (const Plan& plan : forced_plans) {
      const auto out = generate_under(plan);
      INFO(s->name, ", ", plan.name());
      // The logits differ by rounding only; a sample changes only if its uniform draw falls within
      // that rounding of a boundary of the cumulative distribution, which these seeds do not.
      CHECK(out.tokens.to_vector() == ref.tokens.to_vector());
      CHECK(relative_difference(out.logprobs.to_vector(), ref.logprobs.to_vector()) <= 1e-5);
    }
  }
}

// ---- SFT and the reward model ---------------------------------------------------------------

namespace {

// The pipeline's SFT data (the fortunes) at the default shape; a synthetic corpus at the small one.
rlhf::data::SftDataset sft_data(const ModelShape& s, const fs::path& dir) {
  const rlhf::data::ByteTokenizer tok;
  if (&s == &pipeline_shape)
    return rlhf::data::load_sft_jsonl(fs::path(RLHF_DATA_DIR) / "fortunes" / "train.jsonl", tok, 64);
  const fs::path file = dir / "sft.jsonl";
  std::ofstream out(file);
  for (int i = 0; i < 40; ++i)
    out << R"({"prompt": "say )"
        << "abcdef"[i % 6] << R"(:", "completion": " )"
        << "xyz"[i % 3] << "\"}\n";
  out.close();
  return rlhf::data::load_sft_jsonl(file, tok, 16);
}

// Runs `steps` optimizer steps, checking that each moved the weights; returns their total update.
template <class Trainer>
std::vector<float> update_of_steps(Trainer& trainer, const rlhf::Tensor<float, cpu>& weights, int steps) {
  const std::vector<float> start = weights.to_vector();
  std::vector<float> before = start;
  for (int i = 0; i < steps; ++i) {
    trainer.step();
    const auto now = weights.to_vector();
    CHECK(now != before);
    before = now;
  }
  return minus(before, start);
}

// One piece of training under plans of (threads, micro-batching): the reference plan twice gives
// the same bits, and each other plan's update lies within 1e-2 of the reference's.
template <class Run>
void check_plans(const ModelShape& s, Run run, std::pair<int, std::int64_t> reference,
                 const std::vector<std::pair<int, std::int64_t>>& others, const char* micro_unit) {
  const auto ref = run(reference.first, reference.second);
  CHECK(same_bits(run(reference.first, reference.second), ref));
  for (const auto& plan : others) {
    const int threads = plan.first;  // named copies: INFO captures them (Clang 14: no structured bindings in captures)
    const std::int64_t micro = plan.second;
    const double d = relative_difference(run(threads, micro), ref);
    INFO(s.name, ", ", threads, " threads, micro-batches of ", micro, " ", micro_unit, ": updates differ by ", d);
    CHECK(d <= 1e-2);
  }
}

GPTConfig byte_model(const ModelShape& s) {
  GPTConfig c = s.model;
  c.vocab_size = 257;
  return c;
}

}  // namespace

TEST_CASE("invariance: SFT steps under 1 and 2 threads and micro-batches of every size") {
  testing::TempDir dir;
  for (const ModelShape* s : {&small_shape, &pipeline_shape}) {
    const auto data = sft_data(*s, dir.path);
    const auto split = rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::none(), 1);
    auto run = [&](int threads, std::int64_t micro) {
      const testing::OmpThreads t(threads);
      GPT<float, cpu> model(byte_model(*s));
      model.init_weights(1);
      rlhf::train::SFTConfig c;
      c.batch_size = 16;
      c.micro_batch_size = micro;
      c.max_steps = 2;
      c.learning_rate = 2e-3;
      c.warmup_steps = 1;
      c.seed = 2;
      rlhf::train::SFTTrainer<float, cpu> trainer(model, data, split, c);
      return update_of_steps(trainer, model.parameters(), 2);
    };
    check_plans(*s, run, {2, 0}, {{1, 0}, {2, 1}, {2, 4}, {1, 8}}, "sequences (0: the batch)");
  }
}

namespace {

// The pipeline's K of 4-9 completions per prompt, of its response length at the default shape.
rlhf::data::PreferenceDataset kwise_data(const ModelShape& s, const fs::path& dir) {
  const auto file = testing::write_count_a_rankings(dir, {.records = 24,
                                                          .seed = 17,
                                                          .min_k = 4,
                                                          .max_k = 9,
                                                          .length = &s == &pipeline_shape ? 40 : 8,
                                                          .alphabet = "abc ",
                                                          .prompt = "rank these:",
                                                          .file_name = std::string(s.name) + ".jsonl"});
  return rlhf::data::load_preference_jsonl(file, rlhf::data::ByteTokenizer(), byte_model(s).n_positions);
}

}  // namespace

TEST_CASE("invariance: reward-model steps under 1 and 2 threads and micro-batches of every size") {
  testing::TempDir dir;
  for (const ModelShape* s : {&small_shape, &pipeline_shape}) {
    const auto data = kwise_data(*s, dir.path);
    const auto split = rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::none(), 1);
    auto run = [&](int threads, std::int64_t micro_tokens) {
      const testing::OmpThreads t(threads);
      RewardModel<float, cpu> model(byte_model(*s));
      model.init_weights(3);
      rlhf::train::RewardConfig c;
      c.batch_size = 8;
      c.micro_batch_tokens = micro_tokens;
      c.max_steps = 2;
      c.learning_rate = 1e-3;
      c.warmup_steps = 1;
      c.seed = 4;
      rlhf::train::RewardTrainer<float, cpu> trainer(model, data, split, c);
      return update_of_steps(trainer, model.gpt().parameters(), 2);
    };
    const std::int64_t whole = 1 << 20;                         // every step's groups in one micro-batch
    const std::int64_t group = 9 * byte_model(*s).n_positions;  // about one group per micro-batch
    check_plans(*s, run, {2, whole}, {{1, whole}, {2, group}, {1, group}}, "tokens");
  }
}

}  // namespace test_invariance
