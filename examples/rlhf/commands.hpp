#pragma once
// The rlhf subcommands that run models, written once for every backend: on_cpu.cpp instantiates
// them for rlhf::cpu and, in a build with CUDA, on_cuda.cu for rlhf::cuda. Models load straight
// into the backend's memory; data, tokens and outputs stay on the host.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common.hpp"
#include "rlhf/data/jsonl.hpp"
#include "rlhf/data/preference_dataset.hpp"
#include "rlhf/data/sft_dataset.hpp"
#include "rlhf/generate/generate.hpp"
#include "rlhf/io/checkpoint.hpp"
#include "rlhf/io/reward_checkpoint.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/pipeline.hpp"
#include "rlhf/train/ppo.hpp"
#include "rlhf/train/reward.hpp"
#include "rlhf/train/run_directory.hpp"
#include "rlhf/train/sft.hpp"

namespace rlhf_cli {

using rlhf::fail;

template <rlhf::Backend B>
struct Loaded {
  std::unique_ptr<rlhf::nn::GPT<T, B>> model;
  AnyTokenizer tokenizer;
};

template <rlhf::Backend B>
Loaded<B> load_model(const fs::path& dir, const B& be) {
  require_checkpoint(dir);
  Loaded<B> l{rlhf::io::load_gpt<T>(dir, be), {}};
  l.tokenizer = AnyTokenizer::of_model(dir, l.model->config().vocab_size);
  return l;
}

// With --resume, continues the run saved in `run` (its newest checkpoint-STEP); without, refuses
// to overwrite one. `position()` is where the resumed run stands, for the message.
template <class Trainer, class Position>
void resume_or_start(Trainer& trainer, rlhf::train::RunDirectory& run, bool resume, const char* unit,
                     Position position) {
  const std::string out = run.path().string();
  if (resume) {
    if (!rlhf::train::resume_from_latest(run, trainer))
      fail(out, ": no checkpoint-STEP directory (nothing to --resume)");
    std::printf("resumed from %s at %s %lld\n", out.c_str(), unit, (long long)position());
  } else if (run.holds_unversioned_run()) {
    fail(out, ": already holds a training run (trainer_state.json); use --resume to continue it");
  } else if (const auto latest = run.latest_checkpoint()) {
    fail(out, ": already holds a training run (", latest->filename().string(), "); use --resume to continue it");
  }
}

// --out must name a directory (an empty one would write into the current directory), and not
// one the run reads (its model files would be overwritten): `inputs` are {option, directory}.
inline void require_out(const std::string& out,
                        std::initializer_list<std::pair<const char*, const std::string*>> inputs = {}) {
  if (out.empty()) fail("--out must name a directory, got \"\"");
  std::error_code ec;
  for (const auto& [option, dir] : inputs)
    if (fs::equivalent(out, *dir, ec))
      fail("--out ", out, " is the ", option,
           " directory; the run would overwrite its input: write to another directory");
}

template <rlhf::Backend B>
int run_sft(SftArgs a, const B& be) {
  require_out(a.out, {{"--model", &a.model}});
  require_file(a.data);
  Loaded<B> l = load_model(a.model, be);
  const std::int64_t context = l.model->config().n_positions;
  if (a.max_length == 0) a.max_length = context;
  if (a.max_length < 2 || a.max_length > context)
    fail("--max-length ", a.max_length, " must lie in [2, ", context, "] (the model's context)");
  const rlhf::data::SftDataset dataset = rlhf::data::load_sft_jsonl(a.data, l.tokenizer, a.max_length);
  std::printf("%s: %s\n", a.data.c_str(), dataset.summary().c_str());
  const rlhf::data::DataSplit split = rlhf::data::split_train_validation(
      dataset.size(), rlhf::data::ValidationSize::fraction(a.val_fraction), a.cfg.seed);
  std::printf("%zu training, %zu validation examples\n", split.train.size(), split.validation.size());
  rlhf::train::SFTTrainer<T, B> trainer(*l.model, dataset, split, a.cfg);
  rlhf::train::RunDirectory run(a.out, a.keep_checkpoints);
  run.set_inputs(a.inputs);
  resume_or_start(trainer, run, a.resume, "step", [&] { return trainer.step_count(); });
  if (trainer.step_count() >= a.cfg.max_steps) {
    std::printf("already at step %lld of %lld: nothing to do\n", (long long)trainer.step_count(),
                (long long)a.cfg.max_steps);
    return 0;
  }
  rlhf::train::MetricsLog log(run.metrics_file(), a.resume);
  const rlhf::io::SaveOptions options = rlhf::io::checkpoint_options(l.tokenizer);
  const rlhf::train::SFTEvaluation last = trainer.train(log, [&](std::int64_t step) {
    run.commit_checkpoint(step, [&](const fs::path& dir) { trainer.save(dir, options); });
    std::printf("saved %s at step %lld\n", a.out.c_str(), (long long)step);
    std::fflush(stdout);
  });
  if (last.tokens > 0) std::printf("final validation loss %.4f, token accuracy %.4f\n", last.loss, last.token_accuracy);
  return 0;
}

template <rlhf::Backend B>
int run_generate(GenerateArgs a, const B& be) {
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
  if (a.batch_size <= 0) fail("--batch-size must be positive, got ", a.batch_size);
  Loaded<B> l = load_model(a.model, be);
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
  if (!a.max_new_tokens_given) max_new = std::min<std::int64_t>(max_new, context - std::int64_t(longest));
  else if (max_new > context - std::int64_t(longest))
    fail("--max-new-tokens ", max_new, " does not fit: the longest prompt has ", longest, " tokens, the context ",
         context);

  std::string output;
  for (std::size_t b0 = 0; b0 < ids.size(); b0 += std::size_t(a.batch_size)) {
    const std::size_t b1 = std::min(ids.size(), b0 + std::size_t(a.batch_size));
    const std::vector<std::vector<std::int32_t>> batch(ids.begin() + std::ptrdiff_t(b0),
                                                       ids.begin() + std::ptrdiff_t(b1));
    rlhf::GenerationConfig g;
    g.max_new_tokens = max_new;
    g.sampling = a.sampling;
    g.eos_id = l.tokenizer.eos_id();
    g.seed = a.seed + b0;  // a different Philox seed per batch
    const rlhf::Generation<T> gen = rlhf::generate(*l.model, batch, g);
    for (std::size_t r = 0; r < batch.size(); ++r) {
      const auto row = std::int64_t(r);
      const std::int64_t n = gen.response_lengths[r];  // the EOS included, and its log-prob summed
      double sum = 0;
      for (std::int64_t t = 0; t < n; ++t) sum += double(gen.logprobs(row, gen.prompt_length + t));
      bool stopped = false;
      const std::vector<std::int32_t> response = gen.response(row, g.eos_id, &stopped);
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

struct Scored {
  std::vector<std::int32_t> ids;  // the whole sequence
  std::size_t first = 1;          // first position whose log-prob is reported (>= 1)
};

template <rlhf::Backend B>
int run_logprobs(const LogprobsArgs& a, const B& be) {
  if (!(a.temperature > 0) || !std::isfinite(a.temperature))
    fail("--temperature must be positive, got ", a.temperature);
  if (a.temperature < rlhf::SamplingParams::min_temperature)  // no greedy here: log-probs need a distribution
    fail("--temperature ", a.temperature, " is below the floor of ", rlhf::SamplingParams::min_temperature,
         " (log-probs lose their precision there)");
  require_file(a.data);
  Loaded<B> l = load_model(a.model, be);
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
    const rlhf::Tensor<std::int32_t, B> ids_t(rlhf::Shape{1, n}, std::span<const std::int32_t>(s.ids));
    const rlhf::Tensor<std::int32_t, B> tgt_t(rlhf::Shape{1, n}, std::span<const std::int32_t>(targets));
    rlhf::Tensor<T, B> logp(rlhf::Shape{1, n});
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

// A reward model to train: a reward-model checkpoint as it is, or a language model's trunk with a
// new head.
template <rlhf::Backend B>
std::unique_ptr<rlhf::nn::RewardModel<T, B>> load_or_start_reward_model(const fs::path& dir, std::uint64_t seed,
                                                                        const B& be) {
  require_checkpoint(dir);
  return rlhf::io::is_reward_checkpoint(dir) ? rlhf::io::load_reward_model<T>(dir, be)
                                             : rlhf::io::reward_model_from_lm<T>(dir, seed, be);
}

template <rlhf::Backend B>
int run_reward(RewardArgs a, const B& be) {
  require_out(a.out, {{"--model", &a.model}});
  require_file(a.data);
  if (!a.normalize_data.empty()) require_file(a.normalize_data);
  const auto model = load_or_start_reward_model(a.model, a.cfg.seed, be);
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
  rlhf::train::RewardTrainer<T, B> trainer(*model, dataset, split, a.cfg);
  {  // the normalisation's reference set must be able to have a std > 0: checked before training
    std::vector<std::int64_t> from;
    const auto held_out = reference ? std::vector<std::vector<std::int32_t>>{} : trainer.reference_sequences(&from);
    rlhf::train::require_distinct_references(
        reference ? reference->sequences : held_out, reference ? reference->from : from, tok.eos_id(),
        reference ? "--normalize-data " + a.normalize_data
                  : a.data + " (its held-out completions; or give --normalize-data)");
  }
  rlhf::train::RunDirectory run(a.out, a.keep_checkpoints);
  run.set_inputs(a.inputs);
  resume_or_start(trainer, run, a.resume, "step", [&] { return trainer.step_count(); });
  const rlhf::io::SaveOptions options = rlhf::io::checkpoint_options(tok);
  auto normalize_and_save = [&](std::int64_t step) {
    std::vector<std::int64_t> from;
    const auto seqs = reference ? reference->sequences : trainer.reference_sequences(&from);
    const auto [mean, std_dev] = trainer.normalize(seqs, reference ? reference->from : from);
    run.commit_checkpoint(step, [&](const fs::path& dir) { trainer.save(dir, options); });
    std::printf("saved %s at step %lld (normalised on %zu %s completions: raw mean %.4g, std %.4g)\n", a.out.c_str(),
                (long long)step, seqs.size(), reference ? "reference" : "held-out", mean, std_dev);
    std::fflush(stdout);
  };
  if (trainer.step_count() >= a.cfg.max_steps) {
    std::printf("already at step %lld of %lld: nothing to do\n", (long long)trainer.step_count(),
                (long long)a.cfg.max_steps);
    return 0;
  }
  rlhf::train::MetricsLog log(run.metrics_file(), a.resume);
  const rlhf::train::RewardEvaluation last = trainer.train(log, normalize_and_save);
  if (last.ranking.pairs > 0)
    std::printf("final validation loss %.4f, accuracy %.4f over %lld comparisons, margin %.4f\n", last.loss,
                last.ranking.accuracy(), (long long)last.ranking.pairs, last.ranking.mean_margin());
  return 0;
}

template <rlhf::Backend B>
int run_score(const ScoreArgs& a, const B& be) {
  if (a.batch_size <= 0) fail("--batch-size must be positive, got ", a.batch_size);
  require_file(a.data);
  require_checkpoint(a.model);
  if (!rlhf::io::is_reward_checkpoint(a.model))
    fail(a.model, ": not a reward model (config.json has no \"architectures\": [\"", rlhf::io::reward_architecture,
         "\"]); train one with rlhf reward");
  const auto model = rlhf::io::load_reward_model<T>(a.model, be, rlhf::nn::Trainable::no);
  const AnyTokenizer tok = AnyTokenizer::of_model(a.model, model->config().vocab_size);
  const ScoredTexts texts = read_prompt_completions(a.data, tok, model->config().n_positions);
  const std::vector<T> raw = rlhf::train::raw_rewards(*model, texts.sequences, texts.from, tok.eos_id(), a.batch_size);
  std::string output;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const double score = double(model->normalized(raw[i]));
    output += dump(ordered{{"prompt", texts.prompts[i]},
                           {"completion", texts.completions[i]},
                           {"score", score},
                           {"reward", (score - model->bias()) / model->gain()}}) +
              "\n";
  }
  print_all(output);
  return 0;
}

template <rlhf::Backend B>
int run_ppo(PpoArgs a, const B& be) {
  require_out(a.out, {{"--policy", &a.policy}, {"--reward", &a.reward}});
  a.cfg.kl_estimator = rlhf::loss::parse_kl_estimator(a.kl_estimator);
  // a.cfg was validated with the options' names as the command line was read (main.cpp)
  if (!a.ptx_data.empty()) require_file(a.ptx_data);
  if (a.cfg.ptx_coef > 0 && a.ptx_data.empty()) fail("--ptx-coef needs --ptx-data FILE.jsonl");
  if (a.cfg.ptx_coef == 0 && !a.ptx_data.empty()) fail("--ptx-data needs --ptx-coef > 0 (else the data is never used)");
  Loaded<B> sft = load_model(a.policy, be);  // the policy starts from it
  require_checkpoint(a.reward);
  if (!rlhf::io::is_reward_checkpoint(a.reward))
    fail(a.reward, ": not a reward model (config.json has no \"architectures\": [\"", rlhf::io::reward_architecture,
         "\"]); train one with rlhf reward");
  const auto reference = rlhf::io::load_gpt<T>(a.policy, be, rlhf::nn::Trainable::no);
  const auto rm = rlhf::io::load_reward_model<T>(a.reward, be, rlhf::nn::Trainable::no);
  const auto value = rlhf::io::load_reward_model<T>(a.reward, be);  // the value model starts as the reward model
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
  rlhf::train::PPOTrainer<T, B> trainer(*sft.model, *reference, *value,
                                        rlhf::train::reward_model_scorer(*rm, sft.tokenizer.eos_id()), prompts,
                                        sft.tokenizer.eos_id(), a.cfg, ptx ? &*ptx : nullptr);
  rlhf::train::RunDirectory run(a.out, a.keep_checkpoints);
  run.set_inputs(a.inputs);
  resume_or_start(trainer, run, a.resume, "iteration", [&] { return trainer.iteration(); });
  if (trainer.iteration() >= a.iterations) {
    std::printf("already at iteration %lld of %lld: nothing to do\n", (long long)trainer.iteration(),
                (long long)a.iterations);
    return 0;
  }
  rlhf::train::MetricsLog log(run.metrics_file(), a.resume);
  const rlhf::io::SaveOptions options = rlhf::io::checkpoint_options(sft.tokenizer);
  while (trainer.iteration() < a.iterations) {
    const json record = trainer.step();
    log.write(record);
    const std::int64_t it = trainer.iteration();
    if (it % a.log_every == 0 || it == 1 || it == a.iterations)
      std::printf("%s\n", rlhf::train::progress_line(record).c_str());
    if ((a.save_every > 0 && it % a.save_every == 0) || it == a.iterations) {
      run.commit_checkpoint(it, [&](const fs::path& dir) { trainer.save(dir, options); });
      std::printf("saved %s at iteration %lld\n", a.out.c_str(), (long long)it);
    }
    std::fflush(stdout);
  }
  return 0;
}

template <rlhf::Backend B>
int run_pipeline(const PipelineArgs& a, const B& be) {
  const rlhf::train::PipelineConfig config = rlhf::train::read_pipeline_config(a.config);
  if (a.out.empty()) fail("pipeline: give --out DIR (the run directory)");
  rlhf::train::Pipeline<T, B> pipeline(config, a.out, nullptr, be);
  catch_stop_signals();
  const auto outcome = pipeline.run([] { return stop_signal != 0; });
  if (outcome == rlhf::train::Pipeline<T, B>::Outcome::stopped) {
    std::fflush(stdout);
    std::fprintf(stderr, "rlhf: stopped by signal %d after a checkpoint; rerun the same command to resume\n",
                 int(stop_signal));
    return 130;
  }
  return 0;
}

template <rlhf::Backend B>
int run_command(const Command& c, const B& be) {
  switch (c.kind) {
    case Command::Kind::sft: return run_sft(c.sft, be);
    case Command::Kind::generate: return run_generate(c.generate, be);
    case Command::Kind::logprobs: return run_logprobs(c.logprobs, be);
    case Command::Kind::reward: return run_reward(c.reward, be);
    case Command::Kind::score: return run_score(c.score, be);
    case Command::Kind::ppo: return run_ppo(c.ppo, be);
    case Command::Kind::pipeline: return run_pipeline(c.pipeline, be);
  }
  return 1;
}

}  // namespace rlhf_cli
