// SFTTrainer: the loss goes down on a small corpus, gradient accumulation over micro-batches
// matches one big batch, resume from a checkpoint is bit-identical, and the training state on
// disk is checked when it is read back.
#include <doctest/doctest.h>

#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <random>

#include "rlhf/data/byte_tokenizer.hpp"
#include "below_training.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/sft.hpp"

namespace test_sft {

namespace fs = std::filesystem;
using rlhf::cpu;
using rlhf::nn::GPT;

namespace {

using testing::TempDir;

// A corpus with structure to learn: prompt "count:" and a fixed completion pattern.
fs::path write_corpus(const fs::path& dir) {
  const fs::path file = dir / "sft.jsonl";
  std::ofstream out(file);
  const char* words[] = {"abc", "bcd", "cde", "def", "efg", "fgh"};
  for (int i = 0; i < 48; ++i)
    out << R"({"prompt": "say )" << words[i % 6] << R"(:", "completion": " )" << words[i % 6] << " " << words[i % 6]
        << R"("})" << '\n';
  return file;
}

rlhf::nn::GPTConfig byte_model() {
  rlhf::nn::GPTConfig c;
  c.vocab_size = 257;
  c.n_positions = 32;
  c.n_embd = 32;
  c.n_layer = 2;
  c.n_head = 2;
  return c;
}

rlhf::train::SFTConfig small_run() {
  rlhf::train::SFTConfig c;
  c.batch_size = 8;
  c.micro_batch_size = 4;
  c.max_steps = 6;
  c.learning_rate = 3e-3;
  c.warmup_steps = 2;
  c.seed = 5;
  c.log_every = 1;
  c.eval_every = 0;
  return c;
}

}  // namespace

TEST_CASE("sft: the validation loss falls well below its starting point") {
  TempDir dir;
  const rlhf::data::ByteTokenizer tok;
  const auto data = rlhf::data::load_sft_jsonl(write_corpus(dir.path), tok, 32);
  GPT<float, cpu> model(byte_model());
  model.init_weights(1);
  auto config = small_run();
  config.max_steps = 60;
  rlhf::train::SFTTrainer<float, cpu> trainer(
      model, data, rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::count(8), 1), config);
  const double before = trainer.evaluate().loss;
  rlhf::train::MetricsLog log(dir.path / "metrics.jsonl", false);
  const auto after = trainer.train(
      log, [](std::int64_t) {}, nullptr);
  MESSAGE("validation loss ", before, " -> ", after.loss, ", token accuracy ", after.token_accuracy);
  CHECK(after.loss < 0.5 * before);
  CHECK(after.token_accuracy > 0.5);
  // One metrics line per step (log_every 1), each valid JSON with TRL's names.
  std::ifstream in(dir.path / "metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    CHECK(j.contains("train/loss"));
    CHECK(j.contains("train/grad_norm"));
    ++lines;
  }
  CHECK(lines == 60);
}

TEST_CASE("sft: micro-batches of 2 give the same step as one batch of 8") {
  TempDir dir;
  const rlhf::data::ByteTokenizer tok;
  const auto data = rlhf::data::load_sft_jsonl(write_corpus(dir.path), tok, 32);
  const auto split = rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::none(), 1);
  std::vector<std::vector<double>> params;
  for (std::int64_t micro : {0, 2}) {
    GPT<double, cpu> model(byte_model());
    model.init_weights(1);
    auto config = small_run();
    config.micro_batch_size = micro;
    rlhf::train::SFTTrainer<double, cpu> trainer(model, data, split, config);
    trainer.step();
    trainer.step();
    params.push_back(model.parameters().to_vector());
  }
  for (std::size_t i = 0; i < params[0].size(); ++i)
    REQUIRE(params[1][i] == doctest::Approx(params[0][i]).epsilon(1e-9));
}

TEST_CASE("sft: resume from a checkpoint continues bit-identically") {
  TempDir dir;
  const rlhf::data::ByteTokenizer tok;
  const auto data = rlhf::data::load_sft_jsonl(write_corpus(dir.path), tok, 32);
  const auto split = rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::count(4), 3);
  // Uninterrupted: 6 steps.
  GPT<float, cpu> straight(byte_model());
  straight.init_weights(2);
  rlhf::train::SFTTrainer<float, cpu> a(straight, data, split, small_run());
  for (int i = 0; i < 6; ++i) a.step();
  // Interrupted after 3 (mid-epoch: 44 examples, 8 per step), saved, and resumed in a fresh model.
  {
    GPT<float, cpu> first(byte_model());
    first.init_weights(2);
    rlhf::train::SFTTrainer<float, cpu> b(first, data, split, small_run());
    for (int i = 0; i < 3; ++i) b.step();
    b.save(dir.path / "ckpt");
  }
  GPT<float, cpu> resumed(byte_model());
  rlhf::train::SFTTrainer<float, cpu> c(resumed, data, split, small_run());
  c.resume(dir.path / "ckpt");
  CHECK(c.step_count() == 3);
  for (int i = 0; i < 3; ++i) c.step();
  CHECK(resumed.parameters().to_vector() == straight.parameters().to_vector());
  CHECK(c.data_position().epoch == a.data_position().epoch);
  CHECK(c.data_position().index == a.data_position().index);

  // Another seed is refused with a message that says why.
  auto other = small_run();
  other.seed = 6;
  rlhf::train::SFTTrainer<float, cpu> d(resumed, data, split, other);
  CHECK_THROWS_WITH_AS(d.resume(dir.path / "ckpt"),
                       doctest::Contains("saved with seed 5 and 44 training examples; this run has seed 6"),
                       rlhf::error);
}

}  // namespace test_sft
