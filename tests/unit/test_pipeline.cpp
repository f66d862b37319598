// The pipeline's parts below the CLI: config files (field lists, unknown keys, types, paths, the
// written form), collecting rankings from a policy's samples, the evaluation's measures (win
// rate, standard error, KL of a policy to itself), the stop hook of the training loops, and the
// trimming of a resumed run's metrics. The whole pipeline runs in tests/cli/pipeline_test.sh.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "below_training.hpp"
#include "rlhf/train/collect.hpp"
#include "rlhf/train/evaluate.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/pipeline_config.hpp"
#include "rlhf/train/step_loop.hpp"
#include "error_of.hpp"
#include "temp_dir.hpp"

namespace test_pipeline {

namespace fs = std::filesystem;
using json = nlohmann::json;
using rlhf::train::PipelineConfig;
using testing::error_of;

namespace {

json minimal_config() {
  return json::parse(R"({"data": {"sft": "d/sft.jsonl", "collect_prompts": "d/c.jsonl", "ppo_prompts": "d/p.jsonl",
                                  "eval_prompts": "/abs/e.jsonl"},
                         "labeler": {"afinn": "afinn.tsv"}})");
}

// A 1-layer, 16-wide byte-level GPT: enough to sample from.
rlhf::nn::GPTConfig one_layer(const rlhf::data::ByteTokenizer& tok) {
  rlhf::nn::GPTConfig c;
  c.vocab_size = tok.vocab_size();
  c.n_positions = 32;
  c.n_embd = 16;
  c.n_layer = 1;
  c.n_head = 2;
  return c;
}

PipelineConfig parse(const json& j) { return rlhf::train::pipeline_config_from_json(j, "run.json", "/base"); }

// A labeler whose gold score is the sum of the completion's bytes: easy to check, rarely tied.
struct ByteSum : rlhf::data::Labeler {
  static double of(std::string_view c) {
    double s = 0;
    for (const char ch : c) s += double(static_cast<unsigned char>(ch));
    return s;
  }
  double score(std::string_view, std::string_view c) const override { return of(c); }
};

}  // namespace

TEST_CASE("pipeline config: keys left out keep their defaults; relative paths are relative to the config's directory") {
  const PipelineConfig c = parse(minimal_config());
  CHECK(c.seed == 1);
  CHECK(c.model.n_embd == 128);
  CHECK(c.sft.train.max_steps == rlhf::train::SFTConfig{}.max_steps);
  CHECK(c.ppo.train.kl_coef == rlhf::train::PPOConfig{}.kl_coef);
  CHECK(c.data.sft == "/base/d/sft.jsonl");
  CHECK(c.data.eval_prompts == "/abs/e.jsonl");
  CHECK(c.labeler.words == "/usr/share/dict/american-english");
}

TEST_CASE("pipeline config: every kind of field is read, nested ones included") {
  json j = minimal_config();
  j["seed"] = 7;
  j["model"] = {{"n_layer", 3}, {"n_head", 2}, {"n_embd", 64}};
  j["sft"] = {{"steps", 12}, {"learning_rate", 0.5}, {"adam_beta2", 0.99}};
  j["collect"] = {{"min_k", 3}, {"max_k", 5}, {"temperature", 0.7}, {"top_k", 10}};
  j["ppo"] = {
      {"kl_estimator", "k3"}, {"adaptive_kl", true}, {"iterations", 9}, {"batch_size", 8}, {"mini_batch_size", 4}};
  j["plots"] = false;
  const PipelineConfig c = parse(j);
  CHECK(c.seed == 7);
  CHECK(c.model.n_layer == 3);
  CHECK(c.sft.train.max_steps == 12);
  CHECK(c.sft.train.learning_rate == 0.5);
  CHECK(c.sft.train.adamw.beta2 == 0.99);
  CHECK(c.collect.min_k == 3);
  CHECK(c.collect.sampling.temperature == 0.7);
  CHECK(c.collect.sampling.top_k == 10);
  CHECK(c.ppo.train.kl_estimator == rlhf::loss::KLEstimator::k3);
  CHECK(c.ppo.train.adaptive_kl);
  CHECK(c.ppo.iterations == 9);
  CHECK_FALSE(c.plots);
}

TEST_CASE("pipeline config: unknown keys, wrong types and bad values are errors that name the key") {
  auto with = [](const char* section, const char* key, json value) {
    json j = minimal_config();
    if (*section) j[section][key] = value;
    else j[key] = value;
    return error_of([&] { parse(j); });
  };
  CHECK(with("ppo", "kl_cof", 0.1) == "run.json: unknown key \"ppo.kl_cof\"");
  CHECK(with("", "sfft", json::object()) == "run.json: unknown key \"sfft\"");
  CHECK(with("sft", "steps", "many") == "run.json: key \"sft.steps\" must be an integer, got a string (\"many\")");
  CHECK(with("sft", "steps", 1.5) == "run.json: key \"sft.steps\" must be an integer, got a number (1.5)");
  CHECK(with("ppo", "adaptive_kl", 1) == "run.json: key \"ppo.adaptive_kl\" must be true or false, got a number (1)");
  CHECK(with("ppo", "kl_coef", "x") == "run.json: key \"ppo.kl_coef\" must be a number, got a string (\"x\")");
  CHECK(with("", "seed", -1) == "run.json: key \"seed\" must be >= 0, got -1");
  CHECK(with("", "model", 3) == "run.json: key \"model\" must be a JSON object, got a number (3)");
  CHECK(
      with("ppo", "kl_estimator", "k2").starts_with("run.json: key \"ppo.kl_estimator\" unknown KL estimator \"k2\""));
  // Values out of range are named by their keys, as the file spells them.
  CHECK(with("collect", "max_k", 12) == "run.json: need 2 <= collect.min_k <= collect.max_k <= 9, got 4 and 12");
  CHECK(with("sft", "steps", 0) == "run.json: sft.steps must lie in [1, 1000000000], got 0");
  CHECK(with("ppo", "learning_rate", -1) == "run.json: ppo.learning_rate must be finite and > 0, got -1");
  CHECK(with("reward", "adam_beta2", 1) == "run.json: reward.adam_beta2 must lie in [0, 1), got 1");
  CHECK(with("ppo", "temperature", 0) ==
        "run.json: ppo.temperature must be > 0 for PPO (it samples; greedy decoding has no ratio)");
  CHECK(with("collect", "temperature", 0)
            .starts_with("run.json: collect.temperature must be > 0 to collect comparisons"));
  CHECK(with("eval", "temperature", 1e-4).starts_with("run.json: eval.temperature 0.0001 is below the floor of 0.01"));
  CHECK(with("sft", "max_length", 5000) ==
        "run.json: sft.max_length 5000 exceeds the model's context, model.n_positions 96");
  CHECK(with("data", "ptx", "d/ptx.jsonl") ==
        "run.json: data.ptx is given but ppo.ptx_coef is 0: set a coefficient, or drop the file");
  CHECK(with("ppo", "ptx_coef", 0.5) == "run.json: ppo.ptx_coef > 0 needs data.ptx (a file)");
  json no_sft = minimal_config();
  no_sft["data"].erase("sft");
  CHECK(error_of([&] { parse(no_sft); }).find("key \"data.sft\" is required") != std::string::npos);
  CHECK(error_of([&] { rlhf::train::pipeline_config_from_json(json::array(), "run.json", "/"); }) ==
        "run.json: the config must be a JSON object, got an array ([])");
}

TEST_CASE("pipeline config: the written form holds every field and reads back to the same config") {
  const PipelineConfig c = parse(minimal_config());
  const nlohmann::ordered_json written = rlhf::train::to_json(c);
  CHECK(written["ppo"]["kl_estimator"] == "k1");
  CHECK(written["sft"].contains("adam_beta1"));
  CHECK(written["data"]["sft"] == "/base/d/sft.jsonl");
  const PipelineConfig back = rlhf::train::pipeline_config_from_json(json(written), "copy.json", "/elsewhere");
  CHECK(rlhf::train::to_json(back) == written);
}

TEST_CASE("collect: K completions per prompt in [min_k, max_k], ranks a permutation, the same file for the same seed") {
  const rlhf::data::ByteTokenizer tok;
  const rlhf::nn::GPTConfig gc = one_layer(tok);
  rlhf::nn::GPT<float, rlhf::cpu> policy(gc, rlhf::nn::Trainable::no);
  policy.init_weights(3);
  const std::vector<std::string> prompts{"a", "ab", "abc", "b", "ba", "c", "ca", "cab"};
  rlhf::train::CollectConfig cc;
  cc.min_k = 3;
  cc.max_k = 5;
  cc.max_new_tokens = 8;
  cc.batch_size = 7;              // batches that split a prompt's samples
  cc.labeler_temperature = 1e-3;  // ranks follow the gold order
  cc.seed = 11;
  const ByteSum labeler;
  rlhf::train::CollectStats stats;
  const auto first = rlhf::train::collect_comparisons(policy, tok, labeler, prompts, cc, &stats);
  CHECK(stats.prompts == 8);
  CHECK(stats.records == std::int64_t(first.size()));
  std::set<std::size_t> ks;
  for (const auto& c : first) {
    REQUIRE(c.completions.size() == c.ranking.size());
    CHECK(c.completions.size() >= 2);
    CHECK(c.completions.size() <= 5);
    ks.insert(c.completions.size());
    std::vector<std::int32_t> sorted = c.ranking;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) CHECK(sorted[i] == std::int32_t(i + 1));
    // τ → 0: the ranks follow the gold order.
    for (std::size_t i = 0; i < c.gold.size(); ++i)
      for (std::size_t j = 0; j < c.gold.size(); ++j)
        if (c.gold[i] > c.gold[j]) CHECK(c.ranking[i] < c.ranking[j]);
    for (const auto& s : c.completions) CHECK_FALSE(s.empty());
  }
  CHECK(ks.size() >= 2);  // K varies
  CHECK(stats.agreement == 1.0);
  const auto again = rlhf::train::collect_comparisons(policy, tok, labeler, prompts, cc);
  REQUIRE(again.size() == first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    CHECK(again[i].completions == first[i].completions);
    CHECK(again[i].ranking == first[i].ranking);
  }
  // The file is the K-wise format the reward model reads.
  testing::TempDir dir;
  rlhf::train::write_comparisons_jsonl(dir / "c.jsonl", first);
  const auto data = rlhf::data::load_preference_jsonl(dir / "c.jsonl", tok, 64);
  CHECK(data.format() == rlhf::data::PreferenceFormat::kwise);
  CHECK(data.size() <= std::int64_t(first.size()));  // all-tied groups are dropped
  std::ifstream in(dir / "c.jsonl");
  std::string line;
  std::getline(in, line);
  CHECK(line.starts_with("{\"prompt\":"));
  CHECK(error_of([&] {
          cc.min_k = 1;
          rlhf::train::collect_comparisons(policy, tok, labeler, prompts, cc);
        }) == "need 2 <= CollectConfig.min_k <= CollectConfig.max_k <= 9, got 1 and 5");
}

TEST_CASE("evaluate: win rate with ties as half, standard error, and a policy's KL to itself is 0") {
  const std::vector<double> ppo{3, 1, 2, 2}, sft{1, 1, 5, 0};
  const rlhf::train::WinRate w = rlhf::train::win_rate(ppo, sft);
  CHECK(w.wins == 2);
  CHECK(w.ties == 1);
  CHECK(w.losses == 1);
  CHECK(w.rate() == doctest::Approx(2.5 / 4));
  CHECK(error_of([&] { rlhf::train::win_rate(ppo, std::vector<double>{1}); }) == "win_rate: 4 scores against 1");
  const std::vector<double> x{1, 2, 3, 4};
  const auto m = rlhf::train::MeanSem::of(x);
  CHECK(m.mean == doctest::Approx(2.5));
  CHECK(m.sem == doctest::Approx(std::sqrt(5.0 / 3.0 / 4.0)));

  const rlhf::data::ByteTokenizer tok;
  const rlhf::nn::GPTConfig gc = one_layer(tok);
  rlhf::nn::GPT<float, rlhf::cpu> policy(gc, rlhf::nn::Trainable::no), other(gc, rlhf::nn::Trainable::no);
  policy.init_weights(1);
  other.init_weights(2);
  rlhf::nn::RewardModel<float, rlhf::cpu> rm(gc, rlhf::cpu{}, rlhf::nn::Trainable::no);
  rm.init_weights(4);
  rlhf::train::EvalConfig ec;
  ec.max_new_tokens = 10;
  ec.batch_size = 3;
  ec.sampling.temperature = 0.7;
  const std::vector<std::string> prompts{"x", "yy", "zzz", "w", "v"};
  const ByteSum labeler;
  const auto self = rlhf::train::sample_policy(policy, policy, rm, tok, labeler, prompts, ec);
  REQUIRE(self.responses.size() == prompts.size());
  for (const double kl : self.kl) CHECK(std::abs(kl) < 1e-4);
  for (std::size_t i = 0; i < prompts.size(); ++i) CHECK(self.gold[i] == ByteSum::of(self.responses[i]));
  // Against another model: the same draws give the same responses, and the log-ratios differ
  // from 0.
  const auto vs_other = rlhf::train::sample_policy(policy, other, rm, tok, labeler, prompts, ec);
  CHECK(vs_other.responses == self.responses);
  CHECK(std::abs(vs_other.kl_to_reference().mean) > 1e-4);
}

TEST_CASE("training loops: a stop request checkpoints after the step and returns false") {
  std::int64_t step = 0;
  std::vector<std::int64_t> checkpoints;
  rlhf::train::MetricsLog log;
  auto take = [&] { return json{{"step", ++step}}; };
  const bool finished = rlhf::train::run_steps(
      step, {10, 4, 100}, take, [](json&) {}, log, [&](std::int64_t s) { checkpoints.push_back(s); }, nullptr,
      [&] { return step == 6; });
  CHECK_FALSE(finished);
  CHECK(step == 6);
  CHECK(checkpoints == std::vector<std::int64_t>{4, 6});
  checkpoints.clear();
  CHECK(rlhf::train::run_steps(
      step, {10, 4, 100}, take, [](json&) {}, log, [&](std::int64_t s) { checkpoints.push_back(s); }, nullptr));
  CHECK(checkpoints == std::vector<std::int64_t>{8, 10});
}

}  // namespace test_pipeline
