// rlhf: the command-line tool. Subcommands (each with --help):
//   rlhf init      a new GPT-2-initialised model from a JSON config -> checkpoint directory
//   rlhf sft       supervised fine-tuning on TRL-format JSONL -> checkpoints + metrics.jsonl
//   rlhf generate  sampled completions of prompts, printed as JSONL
//   rlhf logprobs  per-token log-probs of JSONL texts under a checkpoint, printed as JSONL
//   rlhf reward    reward-model training on pairwise or K-wise comparisons -> checkpoints + metrics
//   rlhf score     reward-model scores of prompt/completion pairs, printed as JSONL
//   rlhf ppo       PPO against a reward model with a KL penalty -> policy/ + value/ + metrics
//   rlhf tokenize  token ids of a text (and the round trip)
//   rlhf pipeline  SFT -> collect rankings -> reward model -> PPO -> evaluation, from one config
// Errors: one line "rlhf: <message>" on stderr and exit code 1; command-line usage errors exit
// with CLI11's codes. Outputs are complete or absent: checkpoints and metrics are written
// atomically by the library, and JSONL on stdout is printed only once every record succeeded.
// See docs/cli.md.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "rlhf/rlhf.hpp"
#include "rlhf/data/any_tokenizer.hpp"
#include "rlhf/io/reward_checkpoint.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/pipeline.hpp"
#include "rlhf/train/ppo.hpp"
#include "rlhf/train/reward.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using rlhf::fail;
using T = float;
using Model = rlhf::nn::GPT<T, rlhf::cpu>;

namespace {

using rlhf::data::AnyTokenizer;

struct Loaded {
  std::unique_ptr<Model> model;
  AnyTokenizer tokenizer;
};

Loaded load_model(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail(dir.string(), ": no such checkpoint directory");
  Loaded l{rlhf::io::load_gpt<T>(dir), {}};
  l.tokenizer = AnyTokenizer::of_model(dir, l.model->config().vocab_size);
  return l;
}

void require_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) fail(file.string(), ": no such file");
  if (fs::is_directory(file, ec)) fail(file.string(), ": is a directory, expected a file");
}

std::string read_text_file(const fs::path& file) {
  require_file(file);
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file.string(), ": cannot open the file");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Compact JSON, keys in the order written; invalid UTF-8 (sampled bytes can be) as U+FFFD.
using ordered = nlohmann::ordered_json;
std::string dump(const ordered& j) { return j.dump(-1, ' ', false, ordered::error_handler_t::replace); }

// Prints whole output at once, after everything succeeded.
void print_all(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  if (std::ferror(stdout)) fail("cannot write to standard output");
}

// ---------------------------------------------------------------------------------------------
// rlhf init

struct InitArgs {
  std::string config, out, tokenizer = "bytes";
  std::uint64_t seed = 0;
  bool force = false;
};

// The config file: GPT2Config's fields (as transformers writes them, or just the architecture).
// Unknown fields are errors, so that a typo ("n_embed") is not silently replaced by a default.
rlhf::nn::GPTConfig read_init_config(const fs::path& file, rlhf::io::Gpt2ConfigExtras& extras) {
  const std::string text = read_text_file(file);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(file.string(), ": not valid JSON: ", rlhf::data::detail::json_error_message(e));
  }
  if (!j.is_object()) fail(file.string(), ": expected a JSON object, got ", j.type_name());
  std::set<std::string> known;
  const json defaults = rlhf::io::gpt2_config_json(rlhf::nn::GPTConfig{});
  for (const auto& [key, value] : defaults.items()) known.insert(key);
  for (const char* k : {"transformers_version", "add_cross_attention", "_name_or_path", "task_specific_params"})
    known.insert(k);
  for (const auto& [key, value] : j.items())
    if (!known.contains(key)) fail(file.string(), ": unknown field '", key, "'");
  const rlhf::nn::GPTConfig c = rlhf::io::parse_gpt2_config(j, file.string());
  for (auto [name, slot] : {std::pair{"bos_token_id", &extras.bos_token_id}, std::pair{"eos_token_id", &extras.eos_token_id}}) {
    if (!j.contains(name) || j[name].is_null()) continue;
    if (!j[name].is_number_integer()) fail(file.string(), ": field '", name, "' must be an integer");
    *slot = j[name].get<std::int64_t>();
    if (*slot < 0 || *slot >= c.vocab_size)
      fail(file.string(), ": field '", name, "' is ", *slot, ", outside the vocabulary [0, ", c.vocab_size, ")");
  }
  return c;
}

int run_init(const InitArgs& a) {
  rlhf::io::Gpt2ConfigExtras extras;
  const rlhf::nn::GPTConfig config = read_init_config(a.config, extras);
  const AnyTokenizer tok = AnyTokenizer::parse(a.tokenizer);
  if (!tok.is_bpe() && config.vocab_size != tok.vocab_size())
    fail(a.config, ": field 'vocab_size' is ", config.vocab_size, ", but the byte tokenizer has ", tok.vocab_size(),
         " tokens (256 bytes + <|endoftext|>): set vocab_size to ", tok.vocab_size());
  if (tok.is_bpe() && config.vocab_size < tok.vocab_size())
    fail(a.config, ": field 'vocab_size' is ", config.vocab_size, ", but the tokenizer in ", tok.dir().string(),
         " has ", tok.vocab_size(), " tokens");
  const fs::path out = a.out;
  if (!a.force && fs::exists(out / rlhf::io::config_file_name))
    fail(out.string(), ": already holds a checkpoint (config.json); use --force to overwrite it");
  Model model(config);
  model.init_weights(a.seed);
  rlhf::io::SaveOptions options = tok.save_options();
  if (extras.bos_token_id >= 0) options.config.bos_token_id = extras.bos_token_id;
  if (extras.eos_token_id >= 0) options.config.eos_token_id = extras.eos_token_id;
  rlhf::io::save_gpt(out, model, options);
  std::printf("wrote %s: GPT-2 with vocab_size %lld, n_positions %lld, n_embd %lld, n_layer %lld, n_head %lld "
              "(%lld parameters), %s tokenizer, seed %llu\n",
              out.string().c_str(), (long long)config.vocab_size, (long long)config.n_positions,
              (long long)config.n_embd, (long long)config.n_layer, (long long)config.n_head,
              (long long)model.layout().size(), tok.is_bpe() ? "GPT-2 BPE" : "byte", (unsigned long long)a.seed);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rlhf sft

struct SftArgs {
  std::string model, data, out;
  rlhf::train::SFTConfig cfg;
  std::int64_t max_length = 0;  // 0: the model's context
  double val_fraction = 0.05;
  bool resume = false;
};

int run_sft(SftArgs a) {
  require_file(a.data);
  Loaded l = load_model(a.model);
  const std::int64_t context = l.model->config().n_positions;
  if (a.max_length == 0) a.max_length = context;
  if (a.max_length < 2 || a.max_length > context)
    fail("--max-length ", a.max_length, " must lie in [2, ", context, "] (the model's context)");
  const rlhf::data::SftDataset dataset = rlhf::data::load_sft_jsonl(a.data, l.tokenizer, a.max_length);
  std::printf("%s: %s\n", a.data.c_str(), dataset.summary().c_str());
  const rlhf::data::DataSplit split = rlhf::data::split_train_validation(
      dataset.size(), rlhf::data::ValidationSize::fraction(a.val_fraction), a.cfg.seed);
  std::printf("%zu training, %zu validation examples\n", split.train.size(), split.validation.size());
  rlhf::train::SFTTrainer<T, rlhf::cpu> trainer(*l.model, dataset, split, a.cfg);
  const fs::path out = a.out;
  if (a.resume) {
    if (!fs::exists(out / "trainer_state.json"))
      fail((out / "trainer_state.json").string(), ": no such file (nothing to --resume)");
    trainer.resume(out);
    std::printf("resumed from %s at step %lld\n", out.string().c_str(), (long long)trainer.step_count());
  } else if (fs::exists(out / "trainer_state.json")) {
    fail(out.string(), ": already holds a training run (trainer_state.json); use --resume to continue it");
  }
  if (trainer.step_count() >= a.cfg.max_steps) {
    std::printf("already at step %lld of %lld: nothing to do\n", (long long)trainer.step_count(),
                (long long)a.cfg.max_steps);
    return 0;
  }
  // Created only now that model, data and state are known good: a failing run leaves no output.
  rlhf::train::MetricsLog log(out / "metrics.jsonl", a.resume);
  const rlhf::io::SaveOptions options = l.tokenizer.save_options();
  const rlhf::train::SFTEvaluation last = trainer.train(log, [&](std::int64_t step) {
    trainer.save(out, options);
    std::printf("saved %s at step %lld\n", out.string().c_str(), (long long)step);
    std::fflush(stdout);
  });
  if (last.tokens > 0)
    std::printf("final validation loss %.4f, token accuracy %.4f\n", last.loss, last.token_accuracy);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rlhf generate

struct GenerateArgs {
  std::string model, prompts_file;
  std::vector<std::string> prompts;
  std::int64_t max_new_tokens = 0;  // 0: 64, or what the context leaves
  std::int64_t batch_size = 16;
  rlhf::SamplingParams sampling;
  std::uint64_t seed = 0;
};

int run_generate(GenerateArgs a) {
  std::vector<std::string> texts = a.prompts;
  if (!a.prompts_file.empty()) {
    require_file(a.prompts_file);
    rlhf::data::read_jsonl(fs::path(a.prompts_file), rlhf::data::JsonlFields{{"prompt"}},
                           [&](const rlhf::data::JsonlRecord& r) {
                             if (r.string("prompt").empty()) r.fail("field \"prompt\" is empty");
                             texts.push_back(r.string("prompt"));
                           });
    if (texts.empty()) fail(a.prompts_file, ": no prompts");
  }
  a.sampling.validate();
  if (a.batch_size <= 0) fail("--batch-size must be positive, got ", a.batch_size);
  Loaded l = load_model(a.model);
  const std::int64_t context = l.model->config().n_positions;
  std::vector<std::vector<std::int32_t>> ids;
  std::size_t longest = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    ids.push_back(l.tokenizer.encode(texts[i]));
    if (ids.back().empty()) fail("prompt ", i + 1, " is empty");
    if (std::int64_t(ids.back().size()) >= context)
      fail("prompt ", i + 1, " has ", ids.back().size(), " tokens: it leaves no room in the context of ", context);
    longest = std::max(longest, ids.back().size());
  }
  std::int64_t max_new = a.max_new_tokens;
  if (max_new == 0) max_new = std::min<std::int64_t>(64, context - std::int64_t(longest));
  if (max_new < 0) fail("--max-new-tokens must be positive, got ", max_new);

  std::string output;
  for (std::size_t b0 = 0; b0 < ids.size(); b0 += std::size_t(a.batch_size)) {
    const std::size_t b1 = std::min(ids.size(), b0 + std::size_t(a.batch_size));
    const std::vector<std::vector<std::int32_t>> batch(ids.begin() + std::ptrdiff_t(b0), ids.begin() + std::ptrdiff_t(b1));
    rlhf::GenerationConfig g;
    g.max_new_tokens = max_new;
    g.sampling = a.sampling;
    g.eos_id = l.tokenizer.eos_id();
    g.seed = a.seed + b0;  // a different Philox seed per batch
    const rlhf::Generation<T> gen = rlhf::generate(*l.model, batch, g);
    const std::int64_t L = gen.tokens.shape()[1], P = gen.prompt_length;
    const std::vector<std::int32_t> tokens = gen.tokens.to_vector();
    const std::vector<T> logp = gen.logprobs.to_vector();
    for (std::size_t r = 0; r < batch.size(); ++r) {
      const std::int64_t n = gen.response_lengths[r];
      std::vector<std::int32_t> response(tokens.begin() + std::ptrdiff_t(std::int64_t(r) * L + P),
                                         tokens.begin() + std::ptrdiff_t(std::int64_t(r) * L + P + n));
      double sum = 0;
      for (std::int64_t t = 0; t < n; ++t) sum += double(logp[std::size_t(std::int64_t(r) * L + P + t)]);
      const bool stopped = !response.empty() && response.back() == g.eos_id;
      if (stopped) response.pop_back();
      output += dump(ordered{{"prompt", texts[b0 + r]},
                      {"completion", l.tokenizer.decode(response)},
                      {"tokens", n},
                      {"logprob", sum},
                      {"finished", stopped}}) +
                "\n";
    }
  }
  print_all(output);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rlhf logprobs

struct LogprobsArgs {
  std::string model, data;
  double temperature = 1.0;
};

struct Scored {
  std::vector<std::int32_t> ids;  // the whole sequence
  std::size_t first = 1;          // first position whose log-prob is reported (>= 1)
};

int run_logprobs(const LogprobsArgs& a) {
  if (!(a.temperature > 0) || !std::isfinite(a.temperature))
    fail("--temperature must be positive, got ", a.temperature);
  require_file(a.data);
  Loaded l = load_model(a.model);
  const std::int64_t context = l.model->config().n_positions, vocab = l.model->config().vocab_size;

  // Read and check every record before computing anything.
  std::vector<Scored> items;
  const rlhf::data::JsonlFields fields{{}, {"text", "prompt", "completion", "tokens"}};
  rlhf::data::read_jsonl(fs::path(a.data), fields, [&](const rlhf::data::JsonlRecord& r) {
    const bool text = r.has("text"), pc = r.has("prompt") || r.has("completion"), toks = r.has("tokens");
    if (int(text) + int(pc) + int(toks) != 1)
      r.fail("expected one of {\"text\"}, {\"prompt\", \"completion\"} or {\"tokens\"}");
    Scored s;
    if (text) {
      s.ids = l.tokenizer.encode(r.string("text"));
    } else if (pc) {
      if (!r.has("prompt")) r.fail("missing field \"prompt\"");
      if (!r.has("completion")) r.fail("missing field \"completion\"");
      s.ids = l.tokenizer.encode(r.string("prompt"));
      s.first = std::max<std::size_t>(1, s.ids.size());
      const std::vector<std::int32_t> c = l.tokenizer.encode(r.string("completion"));
      if (c.empty()) r.fail("field \"completion\" is empty");
      s.ids.insert(s.ids.end(), c.begin(), c.end());
    } else {
      const json& v = r.json()["tokens"];
      if (!v.is_array()) r.fail("field \"tokens\" must be an array of token ids");
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_number_integer()) r.fail("field \"tokens\": element ", i, " is not an integer");
        const std::int64_t id = v[i].get<std::int64_t>();
        if (id < 0 || id >= vocab)
          r.fail("field \"tokens\": token id ", id, " at position ", i, " is outside the vocabulary [0, ", vocab, ")");
        s.ids.push_back(std::int32_t(id));
      }
    }
    if (s.ids.size() < 2) r.fail("needs at least 2 tokens (the first has no log-prob), got ", s.ids.size());
    if (std::int64_t(s.ids.size()) > context)
      r.fail("sequence of ", s.ids.size(), " tokens is longer than the model's context of ", context);
    items.push_back(std::move(s));
  });
  if (items.empty()) fail(a.data, ": no records");

  std::string output;
  for (const Scored& s : items) {
    const auto n = std::int64_t(s.ids.size());
    std::vector<std::int32_t> targets(s.ids.begin() + 1, s.ids.end());
    targets.push_back(0);  // after the last token: not reported
    const rlhf::Tensor<std::int32_t, rlhf::cpu> ids_t(rlhf::Shape{1, n}, std::span<const std::int32_t>(s.ids));
    const rlhf::Tensor<std::int32_t, rlhf::cpu> tgt_t(rlhf::Shape{1, n}, std::span<const std::int32_t>(targets));
    rlhf::Tensor<T, rlhf::cpu> logp(rlhf::Shape{1, n});
    l.model->forward(ids_t);
    l.model->logprobs(logp.view(), tgt_t, T(a.temperature));
    const std::vector<T> lp = logp.to_vector();
    ordered tokens = ordered::array(), values = ordered::array();
    double sum = 0;
    for (std::size_t t = s.first; t < s.ids.size(); ++t) {  // the log-prob of ids[t] sits at position t - 1
      tokens.push_back(s.ids[t]);
      values.push_back(double(lp[t - 1]));
      sum += double(lp[t - 1]);
    }
    output += dump(ordered{{"tokens", tokens}, {"logprobs", values}, {"sum", sum}}) + "\n";
  }
  print_all(output);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rlhf reward

using RewardModel = rlhf::nn::RewardModel<T, rlhf::cpu>;

struct RewardArgs {
  std::string model, data, out, normalize_data;
  rlhf::train::RewardConfig cfg;
  std::int64_t max_length = 0;  // 0: the model's context
  double val_fraction = 0.1;
  bool resume = false;
};

// {"prompt", "completion"} records as reward-model sequences (prompt + completion + EOS) and the
// response start of each, for normalisation and scoring.
struct ScoredTexts {
  std::vector<std::string> prompts, completions;
  std::vector<std::vector<std::int32_t>> sequences;
  std::vector<std::int64_t> from;
};

ScoredTexts read_prompt_completions(const fs::path& file, const AnyTokenizer& tok, std::int64_t context) {
  require_file(file);
  ScoredTexts out;
  rlhf::data::read_jsonl(file, rlhf::data::JsonlFields{{"prompt", "completion"}}, [&](const rlhf::data::JsonlRecord& r) {
    if (r.string("completion").empty()) r.fail("field \"completion\" is empty");
    const std::vector<std::int32_t> prompt = tok.encode(r.string("prompt"));
    auto seq = rlhf::data::prompt_completion_sequence(prompt, tok.encode(r.string("completion")), tok.eos_id());
    if (std::int64_t(seq.size()) > context)
      r.fail("prompt + completion + EOS is ", seq.size(), " tokens, longer than the model's context of ", context);
    out.prompts.push_back(r.string("prompt"));
    out.completions.push_back(r.string("completion"));
    out.sequences.push_back(std::move(seq));
    out.from.push_back(std::int64_t(prompt.size()));
  });
  if (out.sequences.empty()) fail(file.string(), ": no records");
  return out;
}

// A reward model to train: a reward-model checkpoint as it is, or a language model's trunk with a
// new head.
std::unique_ptr<RewardModel> load_or_start_reward_model(const fs::path& dir, std::uint64_t seed) {
  if (!fs::is_directory(dir)) fail(dir.string(), ": no such checkpoint directory");
  return rlhf::io::is_reward_checkpoint(dir) ? rlhf::io::load_reward_model<T>(dir)
                                             : rlhf::io::reward_model_from_lm<T>(dir, seed);
}

int run_reward(RewardArgs a) {
  require_file(a.data);
  if (!a.normalize_data.empty()) require_file(a.normalize_data);
  std::unique_ptr<RewardModel> model = load_or_start_reward_model(a.model, a.cfg.seed);
  const AnyTokenizer tok = AnyTokenizer::of_model(a.model, model->config().vocab_size);
  const std::int64_t context = model->config().n_positions;
  if (a.max_length == 0) a.max_length = context;
  if (a.max_length < 2 || a.max_length > context)
    fail("--max-length ", a.max_length, " must lie in [2, ", context, "] (the model's context)");
  const rlhf::data::PreferenceDataset dataset = rlhf::data::load_preference_jsonl(a.data, tok, a.max_length);
  std::printf("%s: %s\n", a.data.c_str(), dataset.summary().c_str());
  std::optional<ScoredTexts> reference;
  if (!a.normalize_data.empty()) reference = read_prompt_completions(a.normalize_data, tok, context);
  const rlhf::data::DataSplit split = rlhf::data::split_train_validation(
      dataset.size(), rlhf::data::ValidationSize::fraction(a.val_fraction), a.cfg.seed);
  std::printf("%zu training, %zu validation groups\n", split.train.size(), split.validation.size());
  rlhf::train::RewardTrainer<T, rlhf::cpu> trainer(*model, dataset, split, a.cfg);
  const fs::path out = a.out;
  if (a.resume) {
    if (!fs::exists(out / "trainer_state.json"))
      fail((out / "trainer_state.json").string(), ": no such file (nothing to --resume)");
    trainer.resume(out);
    std::printf("resumed from %s at step %lld\n", out.string().c_str(), (long long)trainer.step_count());
  } else if (fs::exists(out / "trainer_state.json")) {
    fail(out.string(), ": already holds a training run (trainer_state.json); use --resume to continue it");
  }
  const rlhf::io::SaveOptions options = tok.save_options();
  auto normalize_and_save = [&](std::int64_t step) {
    std::vector<std::int64_t> from;
    const auto seqs = reference ? reference->sequences : trainer.reference_sequences(&from);
    const auto [mean, std_dev] = trainer.normalize(seqs, reference ? reference->from : from);
    trainer.save(out, options);
    std::printf("saved %s at step %lld (normalised on %zu %s completions: raw mean %.4g, std %.4g)\n",
                out.string().c_str(), (long long)step, seqs.size(), reference ? "reference" : "held-out", mean, std_dev);
    std::fflush(stdout);
  };
  if (trainer.step_count() >= a.cfg.max_steps) {
    std::printf("already at step %lld of %lld: nothing to do\n", (long long)trainer.step_count(), (long long)a.cfg.max_steps);
    return 0;
  }
  rlhf::train::MetricsLog log(out / "metrics.jsonl", a.resume);
  const rlhf::train::RewardEvaluation last = trainer.train(log, normalize_and_save);
  if (last.ranking.pairs > 0)
    std::printf("final validation loss %.4f, accuracy %.4f over %lld comparisons, margin %.4f\n", last.loss,
                last.ranking.accuracy(), (long long)last.ranking.pairs, last.ranking.mean_margin());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rlhf score

struct ScoreArgs {
  std::string model, data;
  std::int64_t batch_size = 16;
};

int run_score(const ScoreArgs& a) {
  if (a.batch_size <= 0) fail("--batch-size must be positive, got ", a.batch_size);
  require_file(a.data);
  if (!fs::is_directory(a.model)) fail(a.model, ": no such checkpoint directory");
  if (!rlhf::io::is_reward_checkpoint(a.model))
    fail(a.model, ": not a reward model (config.json has no \"architectures\": [\"", rlhf::io::reward_architecture,
         "\"]); train one with rlhf reward");
  const std::unique_ptr<RewardModel> model = rlhf::io::load_reward_model<T>(a.model);
  const AnyTokenizer tok = AnyTokenizer::of_model(a.model, model->config().vocab_size);
  const ScoredTexts texts = read_prompt_completions(a.data, tok, model->config().n_positions);
  const std::vector<T> raw = rlhf::train::raw_rewards(*model, texts.sequences, texts.from, tok.eos_id(), a.batch_size);
  std::string output;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const double score = double(T(model->gain() * double(raw[i]) + model->bias()));  // as RewardModel::scores
    output += dump(ordered{{"prompt", texts.prompts[i]},
                           {"completion", texts.completions[i]},
                           {"score", score},
                           {"reward", (score - model->bias()) / model->gain()}}) +
              "\n";
  }
  print_all(output);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rlhf ppo

struct PpoArgs {
  std::string policy, reward, prompts, out, ptx_data, kl_estimator = "k1";
  rlhf::train::PPOConfig cfg;
  std::int64_t iterations = 100, save_every = 10, log_every = 1;
  bool resume = false;
};

std::vector<std::vector<std::int32_t>> read_prompts(const fs::path& file, const AnyTokenizer& tok, std::int64_t context,
                                                    std::int64_t max_new_tokens) {
  require_file(file);
  std::vector<std::vector<std::int32_t>> prompts;
  rlhf::data::read_jsonl(file, rlhf::data::JsonlFields{{"prompt"}}, [&](const rlhf::data::JsonlRecord& r) {
    std::vector<std::int32_t> ids = tok.encode(r.string("prompt"));
    if (ids.empty()) r.fail("field \"prompt\" is empty");
    if (std::int64_t(ids.size()) + max_new_tokens > context)
      r.fail("prompt of ", ids.size(), " tokens + ", max_new_tokens, " new tokens exceed the model's context of ", context);
    prompts.push_back(std::move(ids));
  });
  if (prompts.empty()) fail(file.string(), ": no prompts");
  return prompts;
}

int run_ppo(PpoArgs a) {
  a.cfg.kl_estimator = rlhf::loss::parse_kl_estimator(a.kl_estimator);
  a.cfg.validate();
  if (a.iterations <= 0) fail("--iterations must be positive, got ", a.iterations);
  if (a.save_every < 0 || a.log_every <= 0) fail("--save-every must be >= 0 and --log-every positive");
  if (!a.ptx_data.empty()) require_file(a.ptx_data);
  if (a.cfg.ptx_coef > 0 && a.ptx_data.empty()) fail("--ptx-coef needs --ptx-data FILE.jsonl");
  Loaded sft = load_model(a.policy);  // the policy starts from it
  if (!fs::is_directory(a.reward)) fail(a.reward, ": no such checkpoint directory");
  if (!rlhf::io::is_reward_checkpoint(a.reward))
    fail(a.reward, ": not a reward model (config.json has no \"architectures\": [\"", rlhf::io::reward_architecture,
         "\"]); train one with rlhf reward");
  const auto reference = rlhf::io::load_gpt<T>(a.policy, rlhf::cpu{}, rlhf::nn::Trainable::no);
  const auto rm = rlhf::io::load_reward_model<T>(a.reward, rlhf::cpu{}, rlhf::nn::Trainable::no);
  const auto value = rlhf::io::load_reward_model<T>(a.reward);  // the value model starts as the reward model
  if (!(rm->config().n_embd == value->config().n_embd) || rm->config().vocab_size != sft.model->config().vocab_size)
    fail(a.reward, ": the reward model's vocabulary (", rm->config().vocab_size, ") differs from the policy's (",
         sft.model->config().vocab_size, ")");
  const std::int64_t context = std::min(sft.model->config().n_positions, rm->config().n_positions);
  const auto prompts = read_prompts(a.prompts, sft.tokenizer, context, a.cfg.max_new_tokens);
  std::printf("%s: %zu prompts\n", a.prompts.c_str(), prompts.size());
  std::optional<rlhf::data::SftDataset> ptx;
  if (!a.ptx_data.empty()) {
    ptx = rlhf::data::load_sft_jsonl(a.ptx_data, sft.tokenizer, sft.model->config().n_positions);
    std::printf("%s: %s\n", a.ptx_data.c_str(), ptx->summary().c_str());
  }
  rlhf::train::PPOTrainer<T, rlhf::cpu> trainer(*sft.model, *reference, *value,
                                                rlhf::train::reward_model_scorer(*rm, sft.tokenizer.eos_id()), prompts,
                                                sft.tokenizer.eos_id(), a.cfg, ptx ? &*ptx : nullptr);
  const fs::path out = a.out;
  if (a.resume) {
    if (!fs::exists(out / "trainer_state.json"))
      fail((out / "trainer_state.json").string(), ": no such file (nothing to --resume)");
    trainer.resume(out);
    std::printf("resumed from %s at iteration %lld\n", out.string().c_str(), (long long)trainer.iteration());
  } else if (fs::exists(out / "trainer_state.json")) {
    fail(out.string(), ": already holds a training run (trainer_state.json); use --resume to continue it");
  }
  if (trainer.iteration() >= a.iterations) {
    std::printf("already at iteration %lld of %lld: nothing to do\n", (long long)trainer.iteration(), (long long)a.iterations);
    return 0;
  }
  rlhf::train::MetricsLog log(out / "metrics.jsonl", a.resume);
  const rlhf::io::SaveOptions options = sft.tokenizer.save_options();
  while (trainer.iteration() < a.iterations) {
    const json record = trainer.step();
    log.write(record);
    const std::int64_t it = trainer.iteration();
    if (it % a.log_every == 0 || it == 1 || it == a.iterations) std::printf("%s\n", rlhf::train::progress_line(record).c_str());
    if ((a.save_every > 0 && it % a.save_every == 0) || it == a.iterations) {
      trainer.save(out, options);
      std::printf("saved %s at iteration %lld\n", out.string().c_str(), (long long)it);
    }
    std::fflush(stdout);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rlhf tokenize

struct TokenizeArgs {
  std::string model, tokenizer, text, file, ids;
  bool text_given = false, decode = false;
};

int run_tokenize(const TokenizeArgs& a) {
  std::optional<AnyTokenizer> tok;
  std::int64_t vocab = 0;
  if (!a.model.empty()) {
    const rlhf::nn::GPTConfig c = rlhf::io::read_config(a.model);
    vocab = c.vocab_size;
    tok = AnyTokenizer::of_model(a.model, vocab);
  } else {
    tok = AnyTokenizer::parse(a.tokenizer);
    vocab = tok->vocab_size();
  }
  ordered out;
  if (!a.ids.empty()) {  // decode a list of ids
    json parsed;
    try {
      parsed = json::parse(a.ids);
    } catch (const json::exception& e) {
      fail("--ids: not a JSON array of token ids: ", rlhf::data::detail::json_error_message(e));
    }
    if (!parsed.is_array()) fail("--ids: expected a JSON array of token ids, got ", parsed.type_name());
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      if (!parsed[i].is_number_integer()) fail("--ids: element ", i, " is not an integer");
      const std::int64_t id = parsed[i].get<std::int64_t>();
      if (id < 0 || id >= vocab) fail("--ids: token id ", id, " at position ", i, " is outside the vocabulary [0, ", vocab, ")");
      ids.push_back(std::int32_t(id));
    }
    out = {{"ids", ids}, {"text", tok->decode(ids)}};
    print_all(dump(out) + "\n");
    return 0;
  }
  const std::string text = a.text_given ? a.text : read_text_file(a.file);
  const std::vector<std::int32_t> ids = tok->encode(text);
  if (!a.decode) {
    print_all(dump(ordered(ids)) + "\n");
    return 0;
  }
  const std::string back = tok->decode(ids);
  out = {{"ids", ids}, {"text", back}, {"round_trip", back == text}};
  print_all(dump(out) + "\n");
  if (back != text) fail("the decoded text differs from the input (no round trip)");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rlhf pipeline

struct PipelineArgs {
  std::string config, out;
  bool print_config = false;
};

// SIGINT / SIGTERM ask the pipeline to stop after its current step, with a checkpoint.
volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_stop_signal(int sig) { stop_signal = sig; }

int run_pipeline(const PipelineArgs& a) {
  const rlhf::train::PipelineConfig config = rlhf::train::read_pipeline_config(a.config);
  if (a.print_config) {
    print_all(rlhf::train::to_json(config).dump(2) + "\n");
    return 0;
  }
  if (a.out.empty()) fail("pipeline: give --out DIR (the run directory)");
  rlhf::train::Pipeline<T, rlhf::cpu> pipeline(config, a.out);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const auto outcome = pipeline.run([] { return stop_signal != 0; });
  if (outcome == rlhf::train::Pipeline<T, rlhf::cpu>::Outcome::stopped) {
    std::fflush(stdout);
    std::fprintf(stderr, "rlhf: stopped by signal %d after a checkpoint; rerun the same command to resume\n", int(stop_signal));
    return 130;
  }
  return 0;
}

// The options SFT and reward-model training share: steps, schedule, optimizer, evaluation, logging.
template <class Config>
void add_step_options(CLI::App* c, Config& cfg) {
  c->add_option("--steps", cfg.max_steps, "Optimizer steps")->capture_default_str();
  c->add_option("--lr", cfg.learning_rate, "Peak learning rate")->capture_default_str();
  c->add_option("--warmup", cfg.warmup_steps, "Linear warmup steps (then cosine decay)")->capture_default_str();
  c->add_option("--weight-decay", cfg.adamw.weight_decay, "AdamW weight decay")->capture_default_str();
  c->add_option("--max-grad-norm", cfg.max_grad_norm, "Gradient-norm clipping (0: none)")->capture_default_str();
  c->add_option("--eval-every", cfg.eval_every, "Evaluate and save every N steps (0: only at the end)")->capture_default_str();
  c->add_option("--log-every", cfg.log_every, "Progress line and metrics record every N steps")->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  rlhf::reexec_with_fast_runtime(argv);  // before anything else runs: it may start the program again
  CLI::App app{"rlhf: GPT-2 models through SFT, reward modelling and PPO (rlhf++ " RLHF_VERSION_STRING ")",
               "rlhf"};
  app.require_subcommand(1);
  app.set_version_flag("--version", RLHF_VERSION_STRING);

  InitArgs init;
  CLI::App* c_init = app.add_subcommand("init", "A new GPT-2-initialised model from a JSON config -> checkpoint directory");
  c_init->add_option("--config", init.config, "JSON config: GPT2Config fields (vocab_size, n_positions, n_embd, n_layer, n_head, ...)")->required();
  c_init->add_option("--out", init.out, "Checkpoint directory to write (Hugging Face GPT-2 layout)")->required();
  c_init->add_option("--seed", init.seed, "Seed of the initialisation")->capture_default_str();
  c_init->add_option("--tokenizer", init.tokenizer, "bytes (vocab_size must be 257) or gpt2:DIR (vocab.json + merges.txt, copied into the checkpoint)")->capture_default_str();
  c_init->add_flag("--force", init.force, "Overwrite a checkpoint already in --out");

  SftArgs sft;
  CLI::App* c_sft = app.add_subcommand("sft", "Supervised fine-tuning on TRL JSONL ({\"prompt\",\"completion\"} or {\"text\"})");
  c_sft->add_option("--model", sft.model, "Checkpoint directory to start from")->required();
  c_sft->add_option("--data", sft.data, "SFT data, JSONL")->required();
  c_sft->add_option("--out", sft.out, "Output directory: checkpoints, training state, metrics.jsonl")->required();
  c_sft->add_option("--batch-size", sft.cfg.batch_size, "Sequences per step")->capture_default_str();
  c_sft->add_option("--micro-batch-size", sft.cfg.micro_batch_size, "Sequences per forward/backward (0: the whole batch)")->capture_default_str();
  c_sft->add_option("--max-length", sft.max_length, "Truncate examples to this many tokens (0: the model's context)")->capture_default_str();
  c_sft->add_option("--val-fraction", sft.val_fraction, "Share of examples held out for validation")->capture_default_str();
  c_sft->add_option("--eval-max-batches", sft.cfg.eval_max_batches, "Validation batches per evaluation (0: all)")->capture_default_str();
  c_sft->add_option("--seed", sft.cfg.seed, "Seed of the split and the data order")->capture_default_str();
  add_step_options(c_sft, sft.cfg);
  c_sft->add_flag("--resume", sft.resume, "Continue the run saved in --out");

  GenerateArgs gen;
  CLI::App* c_gen = app.add_subcommand("generate", "Sample completions; prints JSONL {\"prompt\",\"completion\",\"tokens\",\"logprob\",\"finished\"}");
  c_gen->add_option("--model", gen.model, "Checkpoint directory")->required();
  auto* o_prompt = c_gen->add_option("--prompt", gen.prompts, "Prompt text (repeatable)");
  auto* o_prompts = c_gen->add_option("--prompts", gen.prompts_file, "JSONL file of {\"prompt\"}");
  o_prompt->excludes(o_prompts);
  c_gen->add_option("--max-new-tokens", gen.max_new_tokens, "Most tokens to generate (0: 64, or what the context leaves)")->capture_default_str();
  c_gen->add_option("--temperature", gen.sampling.temperature, "Sampling temperature (0: greedy)")->capture_default_str();
  c_gen->add_option("--top-k", gen.sampling.top_k, "Keep the k most likely tokens (0: all)")->capture_default_str();
  c_gen->add_option("--top-p", gen.sampling.top_p, "Nucleus sampling threshold (1: off)")->capture_default_str();
  c_gen->add_option("--seed", gen.seed, "Sampler seed")->capture_default_str();
  c_gen->add_option("--batch-size", gen.batch_size, "Prompts generated together")->capture_default_str();

  LogprobsArgs lp;
  CLI::App* c_lp = app.add_subcommand("logprobs", "Per-token log-probs of JSONL records; prints JSONL {\"tokens\",\"logprobs\",\"sum\"}");
  c_lp->add_option("--model", lp.model, "Checkpoint directory")->required();
  c_lp->add_option("--data", lp.data, "JSONL of {\"text\"}, {\"prompt\",\"completion\"} (completion tokens scored) or {\"tokens\"}")->required();
  c_lp->add_option("--temperature", lp.temperature, "Log-probs under softmax(logits / temperature)")->capture_default_str();

  RewardArgs rw;
  CLI::App* c_rw = app.add_subcommand("reward", "Train a reward model on comparisons (pairwise or K-wise JSONL) -> checkpoint + metrics.jsonl");
  c_rw->add_option("--model", rw.model, "Checkpoint to start from: an SFT model (a new score head) or a reward model")->required();
  c_rw->add_option("--data", rw.data, "Comparisons, JSONL: {\"prompt\",\"chosen\",\"rejected\"[,\"margin\"]} or {\"prompt\",\"completions\",\"ranking\"}")->required();
  c_rw->add_option("--out", rw.out, "Output directory: the reward model, training state, metrics.jsonl")->required();
  c_rw->add_option("--batch-size", rw.cfg.batch_size, "Groups (pairs or K-wise prompts) per step")->capture_default_str();
  c_rw->add_option("--micro-batch-tokens", rw.cfg.micro_batch_tokens, "Padded tokens per forward/backward (groups stay whole)")->capture_default_str();
  c_rw->add_option("--center-coefficient", rw.cfg.center_coefficient, "Pairwise data: c of c * mean((r_w + r_l)^2) (0: off)")->capture_default_str();
  c_rw->add_option("--max-length", rw.max_length, "Drop records with a sequence longer than this (0: the model's context)")->capture_default_str();
  c_rw->add_option("--val-fraction", rw.val_fraction, "Share of groups held out for validation")->capture_default_str();
  c_rw->add_option("--normalize-data", rw.normalize_data, "JSONL {\"prompt\",\"completion\"} whose scores get mean 0, std 1 (default: the held-out completions)");
  c_rw->add_option("--seed", rw.cfg.seed, "Seed of the head, the split and the data order")->capture_default_str();
  add_step_options(c_rw, rw.cfg);
  c_rw->add_flag("--resume", rw.resume, "Continue the run saved in --out");

  ScoreArgs sc;
  CLI::App* c_sc = app.add_subcommand("score", "Score prompt/completion pairs with a reward model; prints JSONL {\"prompt\",\"completion\",\"score\",\"reward\"}");
  c_sc->add_option("--model", sc.model, "Reward-model checkpoint directory")->required();
  c_sc->add_option("--data", sc.data, "JSONL of {\"prompt\",\"completion\"}")->required();
  c_sc->add_option("--batch-size", sc.batch_size, "Sequences per forward pass")->capture_default_str();

  PpoArgs ppo;
  CLI::App* c_ppo = app.add_subcommand("ppo", "PPO of an SFT policy against a reward model, with a per-token KL penalty -> policy/, value/, metrics.jsonl");
  c_ppo->add_option("--policy", ppo.policy, "SFT checkpoint: the policy starts from it and it is the frozen reference")->required();
  c_ppo->add_option("--reward", ppo.reward, "Reward-model checkpoint: the frozen scorer; the value model starts from it")->required();
  c_ppo->add_option("--prompts", ppo.prompts, "JSONL of {\"prompt\"}")->required();
  c_ppo->add_option("--out", ppo.out, "Output directory: policy/, value/, trainer_state.json, metrics.jsonl")->required();
  c_ppo->add_option("--iterations", ppo.iterations, "PPO iterations (rollout + update)")->capture_default_str();
  c_ppo->add_option("--batch-size", ppo.cfg.batch_size, "Episodes (prompts) per iteration")->capture_default_str();
  c_ppo->add_option("--mini-batch-size", ppo.cfg.mini_batch_size, "Episodes per optimizer step")->capture_default_str();
  c_ppo->add_option("--micro-batch-size", ppo.cfg.micro_batch_size, "Episodes per forward/backward (0: the minibatch)")->capture_default_str();
  c_ppo->add_option("--ppo-epochs", ppo.cfg.ppo_epochs, "Passes over each rollout")->capture_default_str();
  c_ppo->add_option("--max-new-tokens", ppo.cfg.max_new_tokens, "Most tokens per response")->capture_default_str();
  c_ppo->add_option("--temperature", ppo.cfg.sampling.temperature, "Sampling temperature (> 0; the log-probs use it too)")->capture_default_str();
  c_ppo->add_option("--top-k", ppo.cfg.sampling.top_k, "Keep the k most likely tokens (0: all)")->capture_default_str();
  c_ppo->add_option("--top-p", ppo.cfg.sampling.top_p, "Nucleus sampling threshold (1: off)")->capture_default_str();
  c_ppo->add_option("--kl-coef", ppo.cfg.kl_coef, "beta of the per-token KL penalty (initial value when adaptive)")->capture_default_str();
  c_ppo->add_option("--kl-estimator", ppo.kl_estimator, "k1 (logp - logp_ref), k3, abs or mse")->capture_default_str();
  c_ppo->add_flag("--adaptive-kl", ppo.cfg.adaptive_kl, "Ziegler et al.'s adaptive KL coefficient");
  c_ppo->add_option("--kl-target", ppo.cfg.kl_target, "Target KL of the adaptive controller (nats per episode)")->capture_default_str();
  c_ppo->add_option("--kl-horizon", ppo.cfg.kl_horizon, "Horizon of the adaptive controller (episodes)")->capture_default_str();
  c_ppo->add_option("--gamma", ppo.cfg.gamma, "GAE discount")->capture_default_str();
  c_ppo->add_option("--lambda", ppo.cfg.lambda, "GAE lambda")->capture_default_str();
  c_ppo->add_option("--cliprange", ppo.cfg.cliprange, "Clip range of the policy ratio")->capture_default_str();
  c_ppo->add_option("--cliprange-value", ppo.cfg.cliprange_value, "Clip range of the value around the rollout's")->capture_default_str();
  c_ppo->add_option("--vf-coef", ppo.cfg.vf_coef, "Value-loss coefficient")->capture_default_str();
  c_ppo->add_option("--entropy-coef", ppo.cfg.entropy_coef, "Entropy bonus coefficient (0: none)")->capture_default_str();
  c_ppo->add_option("--lr", ppo.cfg.learning_rate, "Policy learning rate")->capture_default_str();
  c_ppo->add_option("--value-lr", ppo.cfg.value_learning_rate, "Value-model learning rate (0: --lr)")->capture_default_str();
  c_ppo->add_option("--max-grad-norm", ppo.cfg.max_grad_norm, "Gradient-norm clipping of each model (0: none)")->capture_default_str();
  c_ppo->add_option("--target-approx-kl", ppo.cfg.target_approx_kl, "Stop an iteration's update when a minibatch's approx-KL exceeds this (0: never)")->capture_default_str();
  c_ppo->add_option("--missing-eos-penalty", ppo.cfg.missing_eos_penalty, "Added to the score of a response without EOS (e.g. -1; 0: none)")->capture_default_str();
  c_ppo->add_option("--score-clip", ppo.cfg.score_clip, "Clip scores to [-c, c] (0: none)")->capture_default_str();
  c_ppo->add_flag("--whiten-rewards", ppo.cfg.whiten_rewards, "Whiten the per-token rewards before GAE");
  c_ppo->add_option("--ptx-data", ppo.ptx_data, "PPO-ptx: pretraining/SFT JSONL ({\"text\"} or {\"prompt\",\"completion\"})");
  c_ppo->add_option("--ptx-coef", ppo.cfg.ptx_coef, "PPO-ptx coefficient gamma (0: off)")->capture_default_str();
  c_ppo->add_option("--ptx-batch-size", ppo.cfg.ptx_batch_size, "PPO-ptx sequences per optimizer step")->capture_default_str();
  c_ppo->add_option("--save-every", ppo.save_every, "Save every N iterations (0: only at the end)")->capture_default_str();
  c_ppo->add_option("--log-every", ppo.log_every, "Progress line every N iterations (metrics.jsonl gets every one)")->capture_default_str();
  c_ppo->add_option("--seed", ppo.cfg.seed, "Seed of the prompt order, the sampler and the minibatches")->capture_default_str();
  c_ppo->add_flag("--resume", ppo.resume, "Continue the run saved in --out");

  TokenizeArgs tk;
  CLI::App* c_tk = app.add_subcommand("tokenize", "Token ids of a text (JSON array); --decode adds the round trip");
  auto* o_model = c_tk->add_option("--model", tk.model, "Checkpoint directory (its tokenizer)");
  auto* o_tok = c_tk->add_option("--tokenizer", tk.tokenizer, "bytes or gpt2:DIR");
  o_model->excludes(o_tok);
  auto* o_text = c_tk->add_option("--text", tk.text, "Text to tokenize");
  auto* o_file = c_tk->add_option("--file", tk.file, "File whose bytes to tokenize");
  auto* o_ids = c_tk->add_option("--ids", tk.ids, "Decode a JSON array of token ids instead");
  o_text->excludes(o_file)->excludes(o_ids);
  o_file->excludes(o_ids);
  c_tk->add_flag("--decode", tk.decode, "Also print the decoded text and whether it round-trips");

  PipelineArgs pl;
  CLI::App* c_pl = app.add_subcommand("pipeline", "The whole method: SFT -> collect rankings -> reward model -> PPO -> evaluation report, from one JSON config");
  c_pl->add_option("--config", pl.config, "Pipeline config, JSON (docs/pipeline.md; configs/default.json)")->required();
  c_pl->add_option("--out", pl.out, "Run directory: each stage's checkpoints, metrics and logs, report.md, plots/ (rerun: finished stages are skipped)");
  c_pl->add_flag("--print-config", pl.print_config, "Print the config with every default filled in, and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (*c_init) return run_init(init);
    if (*c_sft) return run_sft(sft);
    if (*c_gen) {
      if (gen.prompts.empty() && gen.prompts_file.empty()) fail("generate: give --prompt TEXT or --prompts FILE.jsonl");
      return run_generate(gen);
    }
    if (*c_lp) return run_logprobs(lp);
    if (*c_rw) return run_reward(rw);
    if (*c_sc) return run_score(sc);
    if (*c_ppo) return run_ppo(ppo);
    if (*c_pl) return run_pipeline(pl);
    if (*c_tk) {
      if (tk.model.empty() && tk.tokenizer.empty()) fail("tokenize: give --model DIR or --tokenizer bytes|gpt2:DIR");
      tk.text_given = o_text->count() > 0;
      if (!tk.text_given && tk.file.empty() && tk.ids.empty()) fail("tokenize: give --text, --file or --ids");
      return run_tokenize(tk);
    }
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (char& ch : msg)
      if (ch == '\n' || ch == '\r') ch = ' ';
    std::fflush(stdout);
    std::fprintf(stderr, "rlhf: %s\n", msg.c_str());
    return 1;
  }
  return 1;
}
