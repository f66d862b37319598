// The reward model: the Bradley-Terry losses (hand values, TRL's RewardTrainer, finite
// differences, K-wise = mean of its pairwise losses), the head's read position under left and
// right padding, the whole model's gradient in double precision, one forward per completion,
// checkpoints that keep scores bit for bit, the preference data's errors, and a synthetic
// preference task the trainer must learn.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <vector>

#include "gradcheck.hpp"
#include "rlhf/data/byte_tokenizer.hpp"
#include "rlhf/data/preference_dataset.hpp"
#include "rlhf/io/reward_checkpoint.hpp"
#include "rlhf/loss/bradley_terry.hpp"
#include "rlhf/nn/reward_model.hpp"
#include "below_training.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/reward.hpp"
#include "error_of.hpp"
#include "count_a_rankings.hpp"
#include "temp_dir.hpp"

namespace test_reward {

namespace fs = std::filesystem;
using rlhf::cpu;
using rlhf::Tensor;
using rlhf::data::RankedGroup;
using rlhf::nn::RewardModel;
using testing::error_of;
using testing::TempDir;

namespace {

double softplus(double x) { return std::log1p(std::exp(x)); }

rlhf::nn::GPTConfig tiny_config(std::int64_t vocab = 13) {
  rlhf::nn::GPTConfig c;
  c.vocab_size = vocab;
  c.n_positions = 8;
  c.n_embd = 8;
  c.n_layer = 2;
  c.n_head = 2;
  return c;
}

nlohmann::json read_json(const fs::path& file) {
  std::ifstream in(file);
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("pairwise loss: hand values, margin and centring") {
  const std::vector<double> chosen{1.0, 0.0}, rejected{0.0, 1.0}, margin{0.5, -0.5};
  std::vector<double> dc(2), dr(2);
  // -log σ(1) = softplus(-1), -log σ(-1) = softplus(1)
  CHECK(rlhf::loss::pairwise_loss<double>(chosen, rejected, dc, dr) ==
        doctest::Approx((softplus(-1) + softplus(1)) / 2).epsilon(1e-14));
  // dL/dr_w = -σ(-d) / P
  CHECK(dc[0] == doctest::Approx(-1 / (1 + std::exp(1.0)) / 2).epsilon(1e-14));
  CHECK(dr[0] == doctest::Approx(1 / (1 + std::exp(1.0)) / 2).epsilon(1e-14));
  // margins: d = r_w - r_l - m = 0.5 and -0.5
  CHECK(rlhf::loss::pairwise_loss<double>(chosen, rejected, dc, dr, {margin, 0.0}) ==
        doctest::Approx((softplus(-0.5) + softplus(0.5)) / 2).epsilon(1e-14));
  // centring: + c · mean((r_w + r_l)^2) = 0.1 · 1
  CHECK(rlhf::loss::pairwise_loss<double>(chosen, rejected, dc, dr, {{}, 0.1}) ==
        doctest::Approx((softplus(-1) + softplus(1)) / 2 + 0.1).epsilon(1e-14));
  CHECK(dc[0] == doctest::Approx(-1 / (1 + std::exp(1.0)) / 2 + 2 * 0.1 * 1 / 2).epsilon(1e-14));
}

TEST_CASE("pairwise loss equals TRL's RewardTrainer loss and its gradients") {
  const nlohmann::json refs = read_json(fs::path(RLHF_TEST_DATA_DIR) / "trl_reward_loss_refs.json");
  REQUIRE(refs["cases"].size() >= 4);
  for (const auto& c : refs["cases"]) {
    INFO("case ", c["name"].get<std::string>(), " (TRL ", refs["trl_version"].get<std::string>(), ")");
    const auto chosen = c["chosen"].get<std::vector<double>>(), rejected = c["rejected"].get<std::vector<double>>();
    const std::vector<double> margin =
        c["margin"].is_null() ? std::vector<double>{} : c["margin"].get<std::vector<double>>();
    const double center = c["center_coefficient"].is_null() ? 0.0 : c["center_coefficient"].get<double>();
    std::vector<double> dc(chosen.size()), dr(chosen.size());
    const double loss = rlhf::loss::pairwise_loss<double>(chosen, rejected, dc, dr, {margin, center});
    CHECK(loss == doctest::Approx(c["loss"].get<double>()).epsilon(1e-12));
    const auto want_dc = c["dloss_dchosen"].get<std::vector<double>>(),
               want_dr = c["dloss_drejected"].get<std::vector<double>>();
    for (std::size_t i = 0; i < chosen.size(); ++i) {
      CHECK(dc[i] == doctest::Approx(want_dc[i]).epsilon(1e-12).scale(1e-300));
      CHECK(dr[i] == doctest::Approx(want_dr[i]).epsilon(1e-12).scale(1e-300));
    }
  }
}

TEST_CASE("ranking losses stay finite for reward differences of ±1e4, in float too") {
  const std::vector<float> chosen{1e4f, -1e4f}, rejected{-1e4f, 1e4f};
  std::vector<float> dc(2), dr(2);
  const float loss = float(rlhf::loss::pairwise_loss<float>(chosen, rejected, dc, dr));
  CHECK(std::isfinite(loss));
  CHECK(loss == doctest::Approx(1e4).epsilon(1e-6));  // (0 + 2e4) / 2
  for (float g : {dc[0], dc[1], dr[0], dr[1]}) CHECK(std::isfinite(g));
  CHECK(dc[1] == doctest::Approx(-0.5));
  const std::vector<float> r{1e4f, -1e4f, 0.0f};
  const std::vector<RankedGroup> g{{0, {3, 1, 2}}};
  std::vector<float> d(3);
  CHECK(std::isfinite(rlhf::loss::kwise_loss<float>(r, g, d)));
  for (float x : d) CHECK(std::isfinite(x));
}

TEST_CASE("K-wise loss is the mean over groups of the mean pairwise loss over each group's untied pairs") {
  const rlhf::PhiloxStream rng{11, 0};
  std::vector<double> rewards(4 + 9 + 3);
  for (std::size_t i = 0; i < rewards.size(); ++i) rewards[i] = 3 * (rng.uniform(i) - 0.5);
  // K = 4 (a tie between completions 1 and 2), K = 9 (distinct), K = 3 (all but one tied).
  const std::vector<RankedGroup> groups{{0, {2, 1, 1, 4}}, {4, {9, 3, 1, 2, 8, 7, 4, 5, 6}}, {13, {1, 2, 2}}};
  std::vector<double> d(rewards.size());
  const double kwise = rlhf::loss::kwise_loss<double>(rewards, groups, d);

  double expected = 0;
  for (const RankedGroup& g : groups) {
    std::vector<double> better, worse;
    for (std::size_t i = 0; i < g.ranks.size(); ++i)
      for (std::size_t j = 0; j < g.ranks.size(); ++j)
        if (g.ranks[i] < g.ranks[j]) {
          better.push_back(rewards[std::size_t(g.offset) + i]);
          worse.push_back(rewards[std::size_t(g.offset) + j]);
        }
    std::vector<double> db(better.size()), dw(better.size());
    expected += rlhf::loss::pairwise_loss<double>(better, worse, db, dw) / double(groups.size());
  }
  CHECK(rlhf::data::ranked_pairs(groups[0].ranks).size() == 5);  // C(4,2) = 6, one tie
  CHECK(rlhf::data::ranked_pairs(groups[1].ranks).size() == 36);
  CHECK(rlhf::data::ranked_pairs(groups[2].ranks).size() == 2);
  CHECK(kwise == doctest::Approx(expected).epsilon(1e-14));

  // A group whose completions are all tied adds nothing but counts as a group.
  const std::vector<RankedGroup> with_tied{groups[0], {13, {1, 1, 1}}};
  std::vector<double> d2(rewards.size());
  const double l0 = rlhf::loss::kwise_loss<double>(rewards, std::span(groups).first(1), d2);
  CHECK(rlhf::loss::kwise_loss<double>(rewards, with_tied, d2) == doctest::Approx(l0 / 2).epsilon(1e-14));
  CHECK(d2[13] == 0.0);
}

TEST_CASE("ranking losses: gradients against finite differences (double)") {
  gradcheck::Tensor rewards = gradcheck::randn({16}, 3, 1.5);
  gradcheck::Tensor margin = gradcheck::randn({8}, 4, 0.5);
  SUBCASE("pairwise with margin and centring") {
    auto loss = [&] {
      std::vector<double> dc(8), dr(8);
      const std::span<const double> r(rewards.data(), 16);
      return rlhf::loss::pairwise_loss<double>(r.first(8), r.last(8), dc, dr, {{margin.data(), 8}, 0.05});
    };
    gradcheck::check_gradients({{"rewards", &rewards}}, loss, [&](std::vector<gradcheck::GradView>& g) {
      std::vector<double> dc(8), dr(8);
      const std::span<const double> r(rewards.data(), 16);
      rlhf::loss::pairwise_loss<double>(r.first(8), r.last(8), dc, dr, {{margin.data(), 8}, 0.05});
      for (int i = 0; i < 8; ++i) g[0].data()[i] += dc[i], g[0].data()[8 + i] += dr[i];
    });
  }
  SUBCASE("K-wise with ties") {
    const std::vector<RankedGroup> groups{{0, {1, 3, 2, 2, 5}}, {5, {2, 1}}, {7, {4, 1, 3, 2, 6, 5, 9, 8, 7}}};
    auto loss = [&] {
      std::vector<double> d(16);
      return rlhf::loss::kwise_loss<double>(std::span<const double>(rewards.data(), 16), groups, d);
    };
    gradcheck::check_gradients({{"rewards", &rewards}}, loss, [&](std::vector<gradcheck::GradView>& g) {
      std::vector<double> d(16);
      rlhf::loss::kwise_loss<double>(std::span<const double>(rewards.data(), 16), groups, d);
      for (int i = 0; i < 16; ++i) g[0].data()[i] += d[i];
    });
  }
}

TEST_CASE("reward head position: left padding, right padding, with and without EOS") {
  const std::int32_t eos = 12;
  // row 0: right-padded, ends with EOS at 3; row 1: left-padded, EOS last; row 2: right-padded,
  // no EOS (truncated): last real token 4; row 3: an EOS inside the prompt (before from = 2) and
  // the response's EOS at 4, then real tokens after it.
  const Tensor<std::int32_t, cpu> ids({4, 6}, {5,   6, 7, eos, 0,   0,    //
                                               0,   0, 5, 6,   7,   eos,  //
                                               5,   6, 7, 8,   9,   0,    //
                                               eos, 6, 7, 8,   eos, 3});
  const Tensor<float, cpu> mask({4, 6}, {1, 1, 1, 1, 0, 0,  //
                                         0, 0, 1, 1, 1, 1,  //
                                         1, 1, 1, 1, 1, 0,  //
                                         1, 1, 1, 1, 1, 1});
  const std::vector<std::int64_t> from{0, 0, 0, 2};
  CHECK(rlhf::nn::reward_positions(ids.cview(), mask.cview(), eos, from) == std::vector<std::int32_t>{3, 5, 4, 4});
  // Without response starts, row 3's first EOS is at 0.
  CHECK(rlhf::nn::reward_positions(ids.cview(), mask.cview(), eos)[3] == 0);
  // A pad id equal to the EOS does not move the head onto padding: the mask decides.
  const Tensor<std::int32_t, cpu> pad_is_eos({1, 5}, {eos, eos, 5, 6, 7});
  const Tensor<float, cpu> left({1, 5}, {0, 0, 1, 1, 1});
  CHECK(rlhf::nn::reward_positions(pad_is_eos.cview(), left.cview(), eos)[0] == 4);
  // The single-sequence rule of the data side agrees.
  const std::vector<std::int32_t> seq{eos, 6, 7, 8, eos, 3};
  CHECK(rlhf::data::reward_position(seq, 2, eos) == 4);
  CHECK(rlhf::data::reward_position(std::vector<std::int32_t>{5, 6, 7}, 0, eos) == 2);
  const Tensor<float, cpu> empty({1, 5}, {0, 0, 0, 0, 0});
  CHECK(error_of([&] { rlhf::nn::reward_positions(pad_is_eos.cview(), empty.cview(), eos); }).find("no real token") !=
        std::string::npos);
}

TEST_CASE("reward model: the head reads the chosen position, whatever the padding") {
  RewardModel<double, cpu> model(tiny_config());
  model.init_weights(5);
  // The same 3 tokens, alone, left-padded (positions 0..2 after two pads) and right-padded.
  const Tensor<std::int32_t, cpu> alone({1, 3}, {4, 7, 2});
  const Tensor<std::int32_t, cpu> left({1, 5}, {0, 0, 4, 7, 2}), left_pos({1, 5}, {0, 0, 0, 1, 2});
  const Tensor<double, cpu> left_mask({1, 5}, {0, 0, 1, 1, 1});
  const Tensor<std::int32_t, cpu> right({1, 5}, {4, 7, 2, 9, 9});
  const Tensor<double, cpu> right_mask({1, 5}, {1, 1, 1, 0, 0});
  const double r0 = model.rewards(alone, {}, {}, std::vector<std::int32_t>{2}).data()[0];
  const double r_left = model.rewards(left, left_pos, left_mask, std::vector<std::int32_t>{4}).data()[0];
  const double r_right = model.rewards(right, {}, right_mask, std::vector<std::int32_t>{2}).data()[0];
  CHECK(r_left == doctest::Approx(r0).epsilon(1e-12));
  CHECK(r_right == doctest::Approx(r0).epsilon(1e-12));
  // values() is the head at every position; its last real column is the reward.
  const auto v = model.values(alone);
  CHECK(v.data()[2] == doctest::Approx(r0).epsilon(1e-12));
  CHECK(model.sequences_forwarded() == 4);
}

TEST_CASE("reward model gradient check (double, 2 layers): rewards and per-token values, left padding") {
  RewardModel<double, cpu> model(tiny_config());
  rlhf::fill_normal(cpu{}, model.gpt().parameters().view(), rlhf::PhiloxStream{9, 0}, 0, 0.0, 0.3);
  const Tensor<std::int32_t, cpu> ids({3, 5}, {1, 5, 9, 2, 7, 0, 0, 3, 12, 4, 6, 6, 1, 0, 0});
  const Tensor<std::int32_t, cpu> positions({3, 5}, {0, 1, 2, 3, 4, 0, 0, 0, 1, 2, 0, 1, 2, 3, 4});
  const Tensor<double, cpu> mask({3, 5}, {1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0});
  const std::vector<std::int32_t> read_at{4, 4, 2};
  SUBCASE("rewards through the K-wise loss") {
    const std::vector<RankedGroup> groups{{0, {2, 1, 3}}};
    auto loss = [&] {
      const auto r = model.rewards(ids, positions, mask, read_at);
      std::vector<double> d(3);
      return rlhf::loss::kwise_loss<double>(std::span<const double>(r.data(), 3), groups, d);
    };
    model.zero_grad();
    const auto r = model.rewards(ids, positions, mask, read_at);
    std::vector<double> d(3);
    rlhf::loss::kwise_loss<double>(std::span<const double>(r.data(), 3), groups, d);
    const Tensor<double, cpu> drewards({3}, d);
    model.backward(drewards);
    const double err = gradcheck::whole_model_error(model.gpt().parameters(), model.gpt().gradients(), loss);
    MESSAGE("relative error ", err);
    CHECK(err <= 1e-6);
    // The head's own gradient is not zero (it is in the buffer the check covered).
    const auto dw = model.gpt().gradient("score.weight");
    double n = 0;
    for (std::int64_t i = 0; i < dw.numel(); ++i) n += std::abs(dw.data()[i]);
    CHECK(n > 0);
  }
  SUBCASE("per-token values") {
    const gradcheck::Tensor upstream = gradcheck::randn({3, 5}, 17);
    auto loss = [&] {
      return gradcheck::dot(upstream, Tensor<double, cpu>({3, 5}, model.values(ids, positions, mask).span()));
    };
    model.zero_grad();
    model.values(ids, positions, mask);
    model.backward_values(upstream);
    const double err = gradcheck::whole_model_error(model.gpt().parameters(), model.gpt().gradients(), loss);
    MESSAGE("relative error ", err);
    CHECK(err <= 1e-6);
  }
}

namespace {

// K completions per prompt of 6 random letters from {a, b, c}, ranked by their count of 'a'.
fs::path write_kwise(const fs::path& dir, int records, std::uint64_t seed, int K = 4) {
  return testing::write_count_a_rankings(dir, {.records = records, .seed = seed, .min_k = K, .max_k = K});
}

rlhf::nn::GPTConfig byte_config() {
  rlhf::nn::GPTConfig c;
  c.vocab_size = rlhf::data::ByteTokenizer().vocab_size();
  c.n_positions = 16;
  c.n_embd = 32;
  c.n_layer = 2;
  c.n_head = 2;
  return c;
}

}  // namespace

TEST_CASE("reward trainer: each completion of a K-wise group is forwarded exactly once") {
  TempDir dir;
  const rlhf::data::ByteTokenizer tok;
  const auto data = rlhf::data::load_preference_jsonl(write_kwise(dir.path, 12, 1, 9), tok, 16);
  REQUIRE(data.size() == 12);
  RewardModel<float, cpu> model(byte_config());
  model.init_weights(1);
  rlhf::train::RewardConfig cfg;
  cfg.batch_size = 5;
  cfg.micro_batch_tokens = 2 * 9 * 9;  // at most two groups of 9 × 9 tokens per micro-batch
  rlhf::train::RewardTrainer<float, cpu> trainer(
      model, data, rlhf::data::split_train_validation(12, rlhf::data::ValidationSize::count(2), 0), cfg);
  const auto record = trainer.step();
  CHECK(model.sequences_forwarded() == 5 * 9);  // 2·C(9,2) = 72 per group if pairs were expanded
  CHECK(record["train/comparisons_per_second"].get<double>() > 0);
  const auto ev = trainer.evaluate();
  CHECK(model.sequences_forwarded() == 5 * 9 + 2 * 9);
  CHECK(ev.ranking.pairs <= 2 * 36);
}

TEST_CASE("micro-batches keep groups whole, stay under the token budget and cover the step") {
  TempDir dir;
  const rlhf::data::ByteTokenizer tok;
  std::ofstream(dir / "pairs.jsonl") << R"({"prompt": "p", "chosen": "aaaaaaaaaa", "rejected": "b"})" << '\n'
                                     << R"({"prompt": "p", "chosen": "a", "rejected": "b"})" << '\n'
                                     << R"({"prompt": "p", "chosen": "aa", "rejected": "bbbb", "margin": 1.5})" << '\n'
                                     << R"({"prompt": "p", "chosen": "a", "rejected": "bb"})" << '\n';
  const auto data = rlhf::data::load_preference_jsonl(dir / "pairs.jsonl", tok, 16);
  CHECK(data.has_margin());
  CHECK(data[2].margin == 1.5);
  const std::vector<std::int64_t> step{0, 1, 2, 3};
  const auto micro = rlhf::data::plan_micro_batches(data, step, 2 * 6 * 2);  // two pairs of ≤ 6 tokens
  std::vector<std::int64_t> seen;
  for (const auto& m : micro) {
    std::int64_t rows = 0, longest = 0;
    for (auto g : m) rows += data[g].completions(), longest = std::max(longest, data[g].longest()), seen.push_back(g);
    CHECK((m.size() == 1 || rows * longest <= 24));
  }
  std::sort(seen.begin(), seen.end());
  CHECK(seen == step);
  CHECK(micro.front() == std::vector<std::int64_t>{0});  // the longest alone
  rlhf::data::RewardBatcher<float> batcher;
  const auto& b = batcher.fill(data, micro.back());
  CHECK(b.rows() == 2 * std::int64_t(micro.back().size()));
  CHECK(b.groups[0].ranks == std::vector<std::int32_t>{1, 2});
  for (std::int64_t r = 0; r < b.rows(); ++r)
    CHECK(b.ids.data()[r * b.ids.size(1) + b.read_at[std::size_t(r)]] == tok.eos_id());
}

TEST_CASE("preference data: bad records are errors naming the file, the line and the field") {
  TempDir dir;
  const rlhf::data::ByteTokenizer tok;
  auto load = [&](const std::string& body) {
    const fs::path f = dir.write("bad.jsonl", R"({"prompt": "p", "completions": ["a", "b"], "ranking": [1, 2]})"
                                              "\n" +
                                                  body + "\n");
    return error_of([&] { rlhf::data::load_preference_jsonl(f, tok, 64); });
  };
  CHECK(load(R"({"prompt": "p", "completions": ["a", "b", "c"], "ranking": [1, 2]})")
            .find("bad.jsonl:2: field \"ranking\" has 2 ranks for 3 completions") != std::string::npos);
  CHECK(load(R"({"prompt": "p", "completions": ["a", "b"], "ranking": [1, 3]})")
            .find("bad.jsonl:2: field \"ranking\": rank 3 of completion 1 is outside [1, 2]") != std::string::npos);
  CHECK(load(R"({"prompt": "p", "completions": ["a", "b"], "ranking": [0, 1]})").find("rank 0") != std::string::npos);
  CHECK(
      load(
          R"({"prompt": "p", "completions": ["a","b","c","d","e","f","g","h","i","j"], "ranking": [1,2,3,4,5,6,7,8,9,10]})")
          .find("bad.jsonl:2: field \"completions\" has 10 completions; K must lie in [2, 9]") != std::string::npos);
  CHECK(load(R"({"prompt": "p", "completions": ["a"], "ranking": [1]})").find("has 1 completions") !=
        std::string::npos);
  CHECK(load(R"({"prompt": "p", "completions": ["a", ""], "ranking": [1, 2]})")
            .find("bad.jsonl:2: field \"completions\": completion 1 is empty") != std::string::npos);
  CHECK(load(R"({"prompt": "p", "completions": ["a", "b"], "ranking": [1.5, 2]})")
            .find("field \"ranking\" must be an array of integers") != std::string::npos);
  CHECK(load(R"({"prompt": "p", "completions": "a", "ranking": [1]})")
            .find("field \"completions\" must be an array of strings") != std::string::npos);
  CHECK(load(R"({"prompt": "p", "chosen": "a", "rejected": "b"})")
            .find("bad.jsonl:2: a {\"prompt\", \"chosen\", \"rejected\"} record in a file of {\"prompt\", "
                  "\"completions\", \"ranking\"} records (line 1)") != std::string::npos);
  CHECK(load(R"({"prompt": "p", "completions": ["a", "b"], "rankings": [1, 2]})")
            .find("bad.jsonl:2: unknown field \"rankings\"") != std::string::npos);
  CHECK(load(R"({"prompt": "p", "completions": ["a", "b"]})").find("bad.jsonl:2: missing field \"ranking\"") !=
        std::string::npos);
  CHECK(load("{not json").find("bad.jsonl:2: malformed JSON") != std::string::npos);
  const fs::path pairs = dir.write("pairs.jsonl", R"({"prompt": "p", "chosen": "", "rejected": "b"})"
                                                  "\n");
  CHECK(error_of([&] {
          rlhf::data::load_preference_jsonl(pairs, tok, 64);
        }).find("pairs.jsonl:1: field \"chosen\" is empty") != std::string::npos);
  const fs::path nan = dir.write("nan.jsonl", R"({"prompt": "p", "chosen": "a", "rejected": "b", "margin": "big"})"
                                              "\n");
  CHECK(error_of([&] {
          rlhf::data::load_preference_jsonl(nan, tok, 64);
        }).find("nan.jsonl:1: field \"margin\" must be a number") != std::string::npos);
  const fs::path huge = dir.write("huge.jsonl", R"({"prompt": "p", "chosen": "a", "rejected": "b", "margin": 1e308})"
                                                "\n");
  CHECK(error_of([&] { rlhf::data::load_preference_jsonl(huge, tok, 64); }) ==
        huge.string() + ":1: field \"margin\" is 1e+308; it must be within [-10000, 10000]");
  CHECK(error_of([&] { rlhf::data::load_preference_jsonl(dir / "missing.jsonl", tok, 64); }).find("cannot open") !=
        std::string::npos);
  // Too long and all-tied records are dropped and counted, not errors.
  const fs::path mixed =
      dir.write("mixed.jsonl", R"({"prompt": "p", "completions": ["a", "b"], "ranking": [1, 1]})"
                               "\n"
                               R"({"prompt": "p", "completions": ["aaaaaaaaaaaaaaaaaaaa", "b"], "ranking": [1, 2]})"
                               "\n"
                               R"({"prompt": "p", "completions": ["a", "b", "c"], "ranking": [2, 1, 2]})"
                               "\n");
  const auto data = rlhf::data::load_preference_jsonl(mixed, tok, 8);
  CHECK(data.size() == 1);
  CHECK(data.stats().all_tied == 1);
  CHECK(data.stats().too_long == 1);
  CHECK(data.stats().pairs == 2);
  CHECK(data[0].line == 3);
}

TEST_CASE("reward checkpoints: save and load keep scores bit for bit; an SFT checkpoint starts the trunk") {
  TempDir dir;
  RewardModel<float, cpu> model(tiny_config());
  model.init_weights(3);
  model.set_normalization(0.5, -0.25);
  const Tensor<std::int32_t, cpu> ids({2, 4}, {1, 2, 3, 4, 0, 5, 6, 7});
  const Tensor<float, cpu> mask({2, 4}, {1, 1, 1, 1, 0, 1, 1, 1});
  const Tensor<std::int32_t, cpu> pos({2, 4}, {0, 1, 2, 3, 0, 0, 1, 2});
  const std::vector<std::int32_t> at{3, 3};
  const std::vector<float> before = model.scores(ids, pos, mask, at);
  rlhf::io::save_reward_model(dir / "rm", model);
  CHECK(rlhf::io::is_reward_checkpoint(dir / "rm"));
  const auto loaded = rlhf::io::load_reward_model<float>(dir / "rm");
  CHECK(loaded->gain() == 0.5);
  CHECK(loaded->bias() == -0.25);
  const std::vector<float> after = loaded->scores(ids, pos, mask, at);
  CHECK(std::memcmp(before.data(), after.data(), before.size() * sizeof(float)) == 0);
  const nlohmann::json config = read_json(dir / "rm" / "config.json");
  CHECK(config["architectures"][0] == "GPT2ForSequenceClassification");

  // A language model's checkpoint has no head: the trunk loads, the head keeps its seeded draw.
  rlhf::nn::GPT<float, cpu> lm(tiny_config());
  lm.init_weights(8);
  rlhf::io::save_gpt(dir / "sft", lm);
  CHECK_FALSE(rlhf::io::is_reward_checkpoint(dir / "sft"));
  const auto from_lm = rlhf::io::reward_model_from_lm<float>(dir / "sft", 21);
  const auto trunk = lm.parameters().to_vector(), rm_all = from_lm->gpt().parameters().to_vector();
  CHECK(std::equal(trunk.begin(), trunk.end(), rm_all.begin()));
  const auto w = from_lm->gpt().parameter("score.weight");
  double n = 0;
  for (std::int64_t i = 0; i < w.numel(); ++i) n += std::abs(w.data()[i]);
  CHECK(n > 0);
  CHECK(n / double(w.numel()) < 0.1);  // small: N(0, 0.02)
  // A reward model needs its head when loaded as one, and a plain GPT refuses the extra tensor.
  CHECK(error_of([&] { rlhf::io::load_reward_model<float>(dir / "sft"); }).find("missing tensor 'score.weight'") !=
        std::string::npos);
  CHECK(error_of([&] { rlhf::io::load_gpt<float>(dir / "rm"); }).find("unknown tensor 'score.weight'") !=
        std::string::npos);
}

TEST_CASE("reward trainer learns a synthetic preference: held-out pairwise accuracy >= 95%") {
  TempDir dir;
  const rlhf::data::ByteTokenizer tok;
  const auto data = rlhf::data::load_preference_jsonl(write_kwise(dir.path, 240, 7), tok, 16);
  RewardModel<float, cpu> model(byte_config());
  model.init_weights(2);
  rlhf::train::RewardConfig cfg;
  cfg.batch_size = 16;
  cfg.max_steps = 150;
  cfg.learning_rate = 3e-3;
  cfg.warmup_steps = 10;
  cfg.eval_every = 0;
  const auto split = rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::count(40), 0);
  rlhf::train::RewardTrainer<float, cpu> trainer(model, data, split, cfg);
  rlhf::train::MetricsLog log(dir / "metrics.jsonl", false);
  const auto ev = trainer.train(
      log, [](std::int64_t) {}, nullptr);
  MESSAGE("held-out accuracy ", ev.ranking.accuracy(), " over ", ev.ranking.pairs, " pairs, loss ", ev.loss,
          ", margin ", ev.ranking.mean_margin());
  CHECK(ev.ranking.pairs > 150);
  CHECK(ev.ranking.accuracy() >= 0.95);

  // Normalisation on the held-out completions: their scores then have mean 0 and std 1.
  std::vector<std::int64_t> from;
  const auto refs = trainer.reference_sequences(&from);
  trainer.normalize(refs, from);
  rlhf::train::RewardMoments m;
  for (const auto& s : refs) {
    const Tensor<std::int32_t, cpu> ids({1, std::int64_t(s.size())}, s);
    const auto score = model.scores(ids, {}, {}, std::vector<std::int32_t>{std::int32_t(s.size()) - 1});
    m.add(std::span<const float>(score));
  }
  CHECK(m.mean() == doctest::Approx(0).scale(1).epsilon(1e-4));
  CHECK(m.std_dev() == doctest::Approx(1).epsilon(1e-4));
}

TEST_CASE("reward trainer: resume from a checkpoint continues bit-identically") {
  TempDir dir;
  const rlhf::data::ByteTokenizer tok;
  const auto data = rlhf::data::load_preference_jsonl(write_kwise(dir.path, 30, 3), tok, 16);
  const auto split = rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::count(4), 5);
  rlhf::train::RewardConfig cfg;
  cfg.batch_size = 4;
  cfg.max_steps = 6;
  cfg.seed = 5;
  auto run = [&](int steps, RewardModel<float, cpu>& model, rlhf::train::RewardTrainer<float, cpu>& trainer) {
    for (int i = 0; i < steps; ++i) trainer.step();
    return model.gpt().parameters().to_vector();
  };
  RewardModel<float, cpu> a(byte_config());
  a.init_weights(1);
  rlhf::train::RewardTrainer<float, cpu> ta(a, data, split, cfg);
  const auto straight = run(6, a, ta);

  RewardModel<float, cpu> b(byte_config());
  b.init_weights(1);
  {
    rlhf::train::RewardTrainer<float, cpu> tb(b, data, split, cfg);
    run(3, b, tb);
    tb.save(dir / "ckpt");
  }
  RewardModel<float, cpu> c(byte_config());
  c.init_weights(99);  // overwritten by resume
  rlhf::train::RewardTrainer<float, cpu> tc(c, data, split, cfg);
  tc.resume(dir / "ckpt");
  CHECK(tc.step_count() == 3);
  const auto resumed = run(3, c, tc);
  CHECK(std::memcmp(straight.data(), resumed.data(), straight.size() * sizeof(float)) == 0);
}

}  // namespace test_reward
