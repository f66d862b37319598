#pragma once
// The whole method of InstructGPT as one run: SFT → collect rankings → reward model → PPO →
// evaluation, from one PipelineConfig, into one run directory:
//
//   DIR/config.json            every knob of the run, defaults included (a rerun must match it)
//   DIR/sft/                   the SFT policy (GPT-2 checkpoint), checkpoint-STEP/, metrics.jsonl, log.txt
//   DIR/collect/               comparisons.jsonl (K-wise), log.txt
//   DIR/reward/                the reward model, checkpoint-STEP/, metrics.jsonl, log.txt
//   DIR/ppo/                   policy/, value/, checkpoint-ITERATION/, metrics.jsonl, log.txt
//   DIR/eval/                  results.json, samples.jsonl, log.txt
//   DIR/report.md, DIR/plots/  the report, and its plots as PNG (gnuplot)
//
// Each stage ends by writing DIR/<stage>/stage.json (atomically, last); a rerun skips the stages
// that have one. A stage stopped before (Ctrl-C, a crash, a kill, stop() returning true) resumes
// from its last checkpoint, committed whole (train/run_directory.hpp): SFT and reward-model
// training from their step, PPO from its iteration. DIR is locked for the run.
// Collection and evaluation are single deterministic passes that rerun whole.
//
// The labeler (in the role of the human labelers) is the config's SentimentLabeler unless the
// caller passes its own.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/core/random_streams.hpp"
#include "rlhf/data/any_tokenizer.hpp"
#include "rlhf/data/jsonl.hpp"
#include "rlhf/data/prompt_file.hpp"
#include "rlhf/data/labeler.hpp"
#include "rlhf/data/preference_dataset.hpp"
#include "rlhf/data/sft_dataset.hpp"
#include "rlhf/files/atomic_file.hpp"
#include "rlhf/io/checkpoint.hpp"
#include "rlhf/files/file_digest.hpp"
#include "rlhf/files/json_text.hpp"
#include "rlhf/io/reward_checkpoint.hpp"
#include "rlhf/io/tokenizer_files.hpp"
#include "rlhf/train/collect.hpp"
#include "rlhf/train/evaluate.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/gold_accuracy.hpp"
#include "rlhf/train/pipeline_checks.hpp"
#include "rlhf/train/pipeline_config.hpp"
#include "rlhf/train/tee.hpp"
#include "rlhf/train/ppo.hpp"
#include "rlhf/train/report.hpp"
#include "rlhf/train/run_directory.hpp"
#include "rlhf/train/reward.hpp"
#include "rlhf/train/sft.hpp"
#include "rlhf/train/step_loop.hpp"

namespace rlhf::train {

inline constexpr const char* pipeline_stages[] = {"sft", "collect", "reward", "ppo", "eval"};

template <class T, Backend B = cpu>
class Pipeline {
 public:
  enum class Outcome { finished, stopped };

  Pipeline(PipelineConfig config, std::filesystem::path run_dir, std::shared_ptr<const data::Labeler> labeler = nullptr,
           B backend = {})
      : config_(std::move(config)), dir_(std::move(run_dir)), labeler_(std::move(labeler)), backend_(backend) {
    config_.validate();
    check_pipeline_files(config_);
    if (!labeler_)
      labeler_ = std::make_shared<data::SentimentLabeler>(config_.labeler.afinn, config_.labeler.words,
                                                          config_.labeler.weights);
    tokenizer_ = config_.model.checkpoint.empty()
                     ? data::AnyTokenizer::parse(config_.tokenizer)
                     : data::AnyTokenizer::of_model(config_.model.checkpoint,
                                                    io::read_config(config_.model.checkpoint).vocab_size);
  }

  const PipelineConfig& config() const { return config_; }
  const std::filesystem::path& dir() const { return dir_; }
  bool stage_done(std::string_view stage) const { return std::filesystem::exists(dir_ / stage / "stage.json"); }

  // Runs every stage not yet done. stop() is asked between steps and between stages; when it
  // says yes, the running stage saves a checkpoint and run() returns Outcome::stopped (a rerun
  // resumes there).
  Outcome run(const StopRequested& stop = {}, std::FILE* progress = stdout);

 private:
  template <class... A>
  void say(const char* format, A... args) {
    std::FILE* out = stage_out_ ? stage_out_ : progress_;
    if (!out) return;
    std::fprintf(out, format, args...);
    std::fputc('\n', out);
    std::fflush(out);
  }

  std::filesystem::path stage_dir(std::string_view s) const { return dir_ / s; }

  // ------------------------------------------------------------------------------------------
  // Stage 1: supervised fine-tuning.
  bool run_sft(const StopRequested& stop);

  // ------------------------------------------------------------------------------------------
  // Stage 2: the SFT policy's samples, ranked by the labeler.
  bool run_collect(const StopRequested&);

  // ------------------------------------------------------------------------------------------
  // Stage 3: the reward model, from the SFT trunk and a new head.
  bool run_reward(const StopRequested& stop);

  // ------------------------------------------------------------------------------------------
  // Stage 4: PPO against the reward model, KL-penalised to the SFT policy.
  bool run_ppo(const StopRequested& stop);

  // ------------------------------------------------------------------------------------------
  // Stage 5: SFT against PPO on held-out prompts; the report and its plots.
  bool run_eval(const StopRequested&);

  PipelineConfig config_;
  std::filesystem::path dir_;
  std::shared_ptr<const data::Labeler> labeler_;
  B backend_;
  data::AnyTokenizer tokenizer_;
  std::FILE* progress_ = stdout;
  std::FILE* stage_out_ = nullptr;
  nlohmann::ordered_json stage_summary_;
};

// Pipeline's member functions, outside the class so that compiled mode's extern template
// skips them (docs/architecture.md, "Compiled mode").
template <class T, Backend B>
auto Pipeline<T, B>::run(const StopRequested& stop, std::FILE* progress) -> Outcome {
  progress_ = progress;
  check_pipeline_prompts(config_, tokenizer_);
  // One run per directory; what killed runs left behind goes first.
  const files::DirectoryLock lock(dir_);
  remove_orphaned_temporaries(dir_);
  if (prepare_run_directory(config_, dir_)) say("run directory %s: new", dir_.c_str());
  else say("run directory %s: continuing", dir_.c_str());
  using StageFn = bool (Pipeline::*)(const StopRequested&);
  const StageFn stages[] = {&Pipeline::run_sft, &Pipeline::run_collect, &Pipeline::run_reward, &Pipeline::run_ppo,
                            &Pipeline::run_eval};
  for (std::size_t i = 0; i < std::size(stages); ++i) {
    const char* name = pipeline_stages[i];
    if (stage_done(name)) {
      say("== stage %zu/5 %s: done before, skipped", i + 1, name);
      continue;
    }
    say("== stage %zu/5 %s", i + 1, name);
    const auto start = std::chrono::steady_clock::now();
    std::filesystem::create_directories(dir_ / name);
    bool finished = false;
    {
      Tee tee(progress_, dir_ / name / "log.txt");
      stage_out_ = tee.file();
      struct Detach {  // the stage's log closes with tee, also when the stage throws
        std::FILE*& out;
        ~Detach() { out = nullptr; }
      } detach{stage_out_};
      stage_summary_ = nlohmann::ordered_json::object();
      finished = (this->*stages[i])(stop);
    }
    if (!finished) {
      say("== stopped in stage %s; rerun with the same config and directory to resume", name);
      return Outcome::stopped;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::ordered_json marker{{"stage", name}, {"seconds", seconds}, {"summary", stage_summary_}};
    files::write_file_atomically(dir_ / name / "stage.json", marker.dump(2) + "\n");
    say("== stage %s finished in %.1f s", name, seconds);
    // A stop asked for during a stage without steps (collect, eval) takes effect here.
    if (i + 1 < std::size(stages) && stop && stop()) {
      say("== stopped after stage %s; rerun with the same config and directory to go on", name);
      return Outcome::stopped;
    }
  }
  return Outcome::finished;
}

template <class T, Backend B>
bool Pipeline<T, B>::run_sft(const StopRequested& stop) {
  const std::filesystem::path out = stage_dir("sft");
  std::unique_ptr<nn::GPT<T, B>> model;
  if (!config_.model.checkpoint.empty()) {
    model = io::load_gpt<T>(config_.model.checkpoint, backend_);
  } else {
    nn::GPTConfig c;
    c.vocab_size = tokenizer_.vocab_size();
    c.n_positions = config_.model.n_positions;
    c.n_embd = config_.model.n_embd;
    c.n_layer = config_.model.n_layer;
    c.n_head = config_.model.n_head;
    model = std::make_unique<nn::GPT<T, B>>(c, backend_);
    model->init_weights(config_.seed);
  }
  const data::SftDataset dataset = data::load_sft_jsonl(config_.data.sft, tokenizer_, config_.sft.max_length);
  say("%s: %s", config_.data.sft.c_str(), dataset.summary().c_str());
  SFTConfig tc = config_.sft.train;
  tc.seed = stage_seed(config_.seed, Stage::sft);
  const data::DataSplit split =
      data::split_train_validation(dataset.size(), data::ValidationSize::fraction(config_.sft.val_fraction), tc.seed);
  SFTTrainer<T, B> trainer(*model, dataset, split, tc);
  RunDirectory run(out);
  run.set_inputs({{"data.sft", files::file_digest(config_.data.sft)}});  // the settings: DIR/config.json
  const bool resumed = resume_from_latest(run, trainer);
  if (resumed) say("resumed SFT at step %lld", (long long)trainer.step_count());
  MetricsLog log(run.metrics_file(), resumed);
  const io::SaveOptions options = io::checkpoint_options(tokenizer_);
  const SFTEvaluation last = trainer.train(
      log,
      [&](std::int64_t step) {
        run.commit_checkpoint(step, [&](const std::filesystem::path& d) { trainer.save(d, options); });
        say("saved %s at step %lld", out.c_str(), (long long)step);
      },
      stage_out_, stop);
  if (trainer.step_count() < tc.max_steps) return false;
  stage_summary_ = {
      {"steps", trainer.step_count()}, {"eval/loss", last.loss}, {"eval/token_accuracy", last.token_accuracy}};
  return true;
}

template <class T, Backend B>
bool Pipeline<T, B>::run_collect(const StopRequested&) {
  const auto policy = io::load_gpt<T>(stage_dir("sft"), backend_, nn::Trainable::no);
  const std::vector<std::string> prompts = data::read_prompt_texts(config_.data.collect_prompts);
  CollectConfig cc = config_.collect;
  cc.seed = stage_seed(config_.seed, Stage::collect);
  CollectStats stats;
  const std::vector<Comparison> comparisons = collect_comparisons(*policy, tokenizer_, *labeler_, prompts, cc, &stats);
  write_comparisons_jsonl(stage_dir("collect") / "comparisons.jsonl", comparisons);
  say("collected %lld rankings of %lld completions for %lld prompts (%lld empty samples left out); "
      "the rankings agree with the gold scores on %.1f%% of pairs",
      (long long)stats.records, (long long)stats.completions, (long long)stats.prompts, (long long)stats.empty,
      100 * stats.agreement);
  stage_summary_ = {{"records", stats.records},
                    {"completions", stats.completions},
                    {"empty", stats.empty},
                    {"gold_agreement", stats.agreement}};
  return true;
}

template <class T, Backend B>
bool Pipeline<T, B>::run_reward(const StopRequested& stop) {
  const std::filesystem::path out = stage_dir("reward");
  RewardConfig rc = config_.reward.train;
  rc.seed = stage_seed(config_.seed, Stage::reward);
  auto model = io::reward_model_from_lm<T>(stage_dir("sft"), rc.seed, backend_);
  const data::PreferenceDataset dataset =
      data::load_preference_jsonl(stage_dir("collect") / "comparisons.jsonl", tokenizer_, model->config().n_positions);
  say("comparisons: %s", dataset.summary().c_str());
  const data::DataSplit split = data::split_train_validation(
      dataset.size(), data::ValidationSize::fraction(config_.reward.val_fraction), rc.seed);
  RewardTrainer<T, B> trainer(*model, dataset, split, rc);
  {
    std::vector<std::int64_t> from;
    require_distinct_references(trainer.reference_sequences(&from), from, tokenizer_.eos_id(),
                                (stage_dir("collect") / "comparisons.jsonl").string() + " (its held-out completions)");
  }
  RunDirectory run(out);
  run.set_inputs({{"collect/comparisons.jsonl", files::file_digest(stage_dir("collect") / "comparisons.jsonl")},
                  {"sft", files::file_digest(stage_dir("sft"))}});
  const bool resumed = resume_from_latest(run, trainer);
  if (resumed) say("resumed reward-model training at step %lld", (long long)trainer.step_count());
  MetricsLog log(run.metrics_file(), resumed);
  const io::SaveOptions options = io::checkpoint_options(tokenizer_);
  const RewardEvaluation last = trainer.train(
      log,
      [&](std::int64_t step) {
        std::vector<std::int64_t> from;
        const auto reference = trainer.reference_sequences(&from);
        trainer.normalize(reference, from);
        run.commit_checkpoint(step, [&](const std::filesystem::path& d) { trainer.save(d, options); });
        say("saved %s at step %lld", out.c_str(), (long long)step);
      },
      stage_out_, stop);
  if (trainer.step_count() < rc.max_steps) return false;
  // Held-out accuracy against the noise-free preferences of the labeler.
  const GoldAccuracy gold = gold_accuracy(*model, dataset, split.validation, tokenizer_, *labeler_);
  say("reward model: held-out accuracy %.3f against the labelers' rankings, %.3f against gold (%lld pairs)",
      last.ranking.accuracy(), gold.accuracy(), (long long)gold.pairs);
  stage_summary_ = {{"steps", trainer.step_count()},
                    {"eval/loss", last.loss},
                    {"eval/accuracy", last.ranking.accuracy()},
                    {"eval/gold_accuracy", gold.accuracy()},
                    {"eval/gold_pairs", gold.pairs}};
  return true;
}

template <class T, Backend B>
bool Pipeline<T, B>::run_ppo(const StopRequested& stop) {
  const std::filesystem::path out = stage_dir("ppo");
  auto policy = io::load_gpt<T>(stage_dir("sft"), backend_);
  auto reference = io::load_gpt<T>(stage_dir("sft"), backend_, nn::Trainable::no);
  auto rm = io::load_reward_model<T>(stage_dir("reward"), backend_, nn::Trainable::no);
  auto value = io::load_reward_model<T>(stage_dir("reward"), backend_);
  PPOConfig pc = config_.ppo.train;
  pc.seed = stage_seed(config_.seed, Stage::ppo);
  const std::int64_t context = policy->config().n_positions;
  std::vector<std::vector<std::int32_t>> prompts;
  for (const std::string& p : data::read_prompt_texts(config_.data.ppo_prompts)) {
    prompts.push_back(tokenizer_.encode(p));
    if (std::int64_t(prompts.back().size()) + pc.max_new_tokens > context)
      fail(config_.data.ppo_prompts, ": prompt \"", p, "\" of ", prompts.back().size(), " tokens + ppo.max_new_tokens ",
           pc.max_new_tokens, " exceed the model's context of ", context);
  }
  say("%s: %zu prompts", config_.data.ppo_prompts.c_str(), prompts.size());
  std::optional<data::SftDataset> ptx;
  if (pc.ptx_coef > 0) ptx = data::load_sft_jsonl(config_.data.ptx, tokenizer_, context);
  PPOTrainer<T, B> trainer(*policy, *reference, *value, reward_model_scorer(*rm, tokenizer_.eos_id()), prompts,
                           tokenizer_.eos_id(), pc, ptx ? &*ptx : nullptr);
  RunDirectory run(out);
  run.set_inputs({{"data.ppo_prompts", files::file_digest(config_.data.ppo_prompts)},
                  {"data.ptx", pc.ptx_coef > 0 ? files::file_digest(config_.data.ptx) : std::string()},
                  {"sft", files::file_digest(stage_dir("sft"))},
                  {"reward", files::file_digest(stage_dir("reward"))}});
  const bool resumed = resume_from_latest(run, trainer);
  if (resumed) say("resumed PPO at iteration %lld", (long long)trainer.iteration());
  MetricsLog log(run.metrics_file(), resumed);
  const io::SaveOptions options = io::checkpoint_options(tokenizer_);
  const std::int64_t iterations = config_.ppo.iterations;
  while (trainer.iteration() < iterations) {
    nlohmann::json record = trainer.step();
    // The gold score of the rollout's responses: what the RM's score stands in for.
    const Rollout<T>& r = trainer.last_rollout();
    double gold = 0;
    for (std::size_t b = 0; b < r.prompts.size(); ++b)
      gold += labeler_->score(tokenizer_.decode(r.prompts[b]), tokenizer_.decode(r.responses[b]));
    record["objective/gold"] = gold / double(r.prompts.size());
    log.write(record);
    const std::int64_t it = trainer.iteration();
    if (it == 1 || it % 5 == 0 || it == iterations) say("%s", progress_line(record).c_str());
    const bool stopping = it < iterations && stop && stop();
    if ((config_.ppo.save_every > 0 && it % config_.ppo.save_every == 0) || it == iterations || stopping) {
      run.commit_checkpoint(it, [&](const std::filesystem::path& d) { trainer.save(d, options); });
      say("saved %s at iteration %lld", out.c_str(), (long long)it);
    }
    if (stopping) return false;
  }
  stage_summary_ = {{"iterations", trainer.iteration()}, {"kl_coef", trainer.kl_coef()}};
  return true;
}

template <class T, Backend B>
bool Pipeline<T, B>::run_eval(const StopRequested&) {
  const auto sft = io::load_gpt<T>(stage_dir("sft"), backend_, nn::Trainable::no);
  const auto ppo = io::load_gpt<T>(stage_dir("ppo") / "policy", backend_, nn::Trainable::no);
  const auto rm = io::load_reward_model<T>(stage_dir("reward"), backend_, nn::Trainable::no);
  std::vector<std::string> prompts = data::read_prompt_texts(config_.data.eval_prompts);
  if (config_.eval.prompts > 0 && std::size_t(config_.eval.prompts) < prompts.size())
    prompts.resize(std::size_t(config_.eval.prompts));
  EvalConfig ec = config_.eval;
  ec.seed = stage_seed(config_.seed, Stage::eval);
  ReportInputs in;
  in.sft = sample_policy(*sft, *sft, *rm, tokenizer_, *labeler_, prompts, ec);
  in.ppo = sample_policy(*ppo, *sft, *rm, tokenizer_, *labeler_, prompts, ec);
  in.prompts = prompts;
  in.win = win_rate(in.ppo.gold, in.sft.gold);
  in.stage_summaries = nlohmann::ordered_json::object();
  for (const char* s : {"sft", "collect", "reward", "ppo"}) {
    in.stage_summaries[s] = files::read_json_file<nlohmann::ordered_json>(stage_dir(s) / "stage.json");
  }
  in.samples_in_report = config_.eval.samples_in_report;
  write_eval_files(stage_dir("eval"), in);
  const std::string table = report_table(in);
  std::string plots_note;
  if (config_.plots) plots_note = write_plots(dir_ / "plots", stage_dir("ppo") / "metrics.jsonl");
  write_report(dir_ / "report.md", in, table, plots_note);
  say("%s", table.c_str());
  if (!plots_note.empty()) say("%s", plots_note.c_str());
  say("report: %s", (dir_ / "report.md").c_str());
  stage_summary_ = {{"win_rate", in.win.rate()},
                    {"gold_sft", in.sft.gold_score().mean},
                    {"gold_ppo", in.ppo.gold_score().mean},
                    {"kl_ppo", in.ppo.kl_to_reference().mean}};
  return true;
}

}  // namespace rlhf::train

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu/tag.hpp"
namespace rlhf::train {
extern template class Pipeline<float, cpu>;
}  // namespace rlhf::train
#endif
