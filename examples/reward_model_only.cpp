// Reward model only (InstructGPT step 2): K-wise rankings in, a reward model out.
//
//   reward_model_only                            makes its own rankings (below), a fresh model
//   reward_model_only RANKINGS.jsonl SFT_DIR     your rankings ({"prompt","completions","ranking"},
//                                                e.g. a pipeline run's collect/comparisons.jsonl)
//                                                and the SFT checkpoint whose trunk it starts from
//
// Its own rankings: for each of 1,500 fortunes, K = 4 completions — the real one, its words
// shuffled, one word repeated, and letters scrambled — ranked by the sentiment labeler
// (data/labeler.hpp) the way a noisy human would (Plackett-Luce at τ = 0.5). Then: the K-wise
// loss with AdamW, held-out accuracy, normalisation to mean 0 / std 1, a saved
// GPT2ForSequenceClassification-style checkpoint, and the scores of a few new texts.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "rlhf/rlhf.hpp"

namespace fs = std::filesystem;
using rlhf::cpu;
using T = float;

namespace {

// Three worse variants of a text: shuffled words, one word repeated, scrambled letters.
std::vector<std::string> variants(const std::string& text, const rlhf::PhiloxStream& rng, std::uint64_t k) {
  std::vector<std::string> words;
  std::string w;
  for (const char c : text + " ") {
    if (c == ' ') {
      if (!w.empty()) words.push_back(w);
      w.clear();
    } else {
      w += c;
    }
  }
  if (words.empty()) words.push_back("x");
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += " " + x;
    return s;
  };
  std::vector<std::string> shuffled = words;
  for (std::size_t i = shuffled.size(); i > 1; --i)
    std::swap(shuffled[i - 1], shuffled[std::size_t(rng.uniform(k * 64 + i) * double(i))]);
  const std::vector<std::string> repeated(words.size(), words[std::size_t(rng.uniform(k * 64) * double(words.size()))]);
  std::string scrambled = join(words);
  for (std::size_t i = 1; i + 1 < scrambled.size(); i += 3) std::swap(scrambled[i], scrambled[i + 1]);
  return {join(shuffled), join(repeated), scrambled};
}

fs::path make_rankings(const fs::path& out, const rlhf::data::Labeler& labeler) {
  const rlhf::PhiloxStream rng{7, 1}, ranks{7, 2};
  rlhf::data::JsonlWriter file(out);
  std::uint64_t k = 0;
  rlhf::data::read_jsonl(fs::path(RLHF_DATA_DIR "/fortunes/train.jsonl"), [&](const rlhf::data::JsonlRecord& r) {
    if (k >= 1500) return;
    std::vector<std::string> completions{r.string("completion")};
    for (auto& v : variants(r.string("completion"), rng, k)) completions.push_back(v);
    for (auto& c : completions) c = c.substr(0, 40);  // short, so that training is quick
    const std::vector<std::int32_t> ranking = labeler.rank(r.string("prompt"), completions, 0.5, ranks, k++);
    file.write_ordered({{"prompt", r.string("prompt")}, {"completions", completions}, {"ranking", ranking}});
  });
  file.commit();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);
  try {
    const rlhf::data::SentimentLabeler labeler(RLHF_DATA_DIR "/afinn-165.tsv", "/usr/share/dict/american-english");
    const rlhf::data::ByteTokenizer tok;
    fs::path rankings;
    std::unique_ptr<rlhf::nn::RewardModel<T, cpu>> rm;
    if (argc > 2) {
      rankings = argv[1];
      rm = rlhf::io::reward_model_from_lm<T>(argv[2], 1);  // the SFT trunk and a new score head
    } else {
      rankings = make_rankings(fs::temp_directory_path() / "reward_model_only_rankings.jsonl", labeler);
      rlhf::nn::GPTConfig c;
      c.vocab_size = tok.vocab_size();
      c.n_positions = 96;
      c.n_embd = 64;
      c.n_layer = 2;
      c.n_head = 2;
      rm = std::make_unique<rlhf::nn::RewardModel<T, cpu>>(c);
      rm->init_weights(1);
    }
    const rlhf::data::PreferenceDataset data =
        rlhf::data::load_preference_jsonl(rankings, tok, rm->config().n_positions);
    std::printf("%s: %s\n", rankings.c_str(), data.summary().c_str());
    const rlhf::data::DataSplit split =
        rlhf::data::split_train_validation(data.size(), rlhf::data::ValidationSize::fraction(0.1), 1);

    rlhf::train::RewardConfig cfg;
    cfg.max_steps = 150;
    cfg.batch_size = 32;
    cfg.learning_rate = 1e-3;
    cfg.eval_every = 0;
    cfg.log_every = 25;
    rlhf::train::RewardTrainer<T, cpu> trainer(*rm, data, split, cfg);
    rlhf::train::MetricsLog no_log;
    const rlhf::train::RewardEvaluation ev = trainer.train(no_log, [](std::int64_t) {});
    std::printf("held-out accuracy %.3f over %lld comparisons, loss %.4f\n", ev.ranking.accuracy(),
                (long long)ev.ranking.pairs, ev.loss);

    // Scores with mean 0, std 1 on the held-out completions; saved for `rlhf score` / `rlhf ppo`.
    std::vector<std::int64_t> from;
    const auto reference = trainer.reference_sequences(&from);
    trainer.normalize(reference, from);
    trainer.save("reward_model");
    const std::vector<std::int32_t> prompt = tok.encode("Tomorrow");
    for (const char* text : {" you will have a good day.", " day day day day day day.", " oyu lwil heva a godo yad."}) {
      const auto seq = rlhf::data::prompt_completion_sequence(prompt, tok.encode(text), tok.eos_id());
      const std::vector<std::int64_t> from{std::int64_t(prompt.size())};
      const std::vector<T> raw = rlhf::train::raw_rewards(*rm, std::span(&seq, 1), from, tok.eos_id());
      std::printf("score %+.3f  gold %+.3f  Tomorrow|%s\n", rm->gain() * double(raw[0]) + rm->bias(),
                  labeler.score("Tomorrow", text), text);
    }
    std::printf("saved reward_model/\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reward_model_only: %s\n", e.what());
    return 1;
  }
  return 0;
}
