#pragma once
// Reward-model training (InstructGPT step 2, Stiennon et al.): the Bradley-Terry losses of
// loss/bradley_terry.hpp on human comparisons, AdamW with linear warmup and cosine decay, global
// gradient-norm clipping, a validation split, and micro-batches of whole groups under a token
// budget whose gradients add up to the step's (gradient accumulation).
//
// A step takes batch_size groups (records: a pair, or a prompt's K ranked completions), forwards
// every completion once, and minimises
//   pairwise data: the pairwise loss (margin when the data has one, optional centring term)
//   K-wise data:   the K-wise loss: the mean over groups of the mean over each group's pairs
// For pairwise data both are the same number; the pairwise form adds the margin and centring.
//
// Metrics (to the terminal and metrics JSONL): loss, accuracy over every untied pair, mean margin
// r_better - r_worse, reward mean and std, comparisons/s; the same on the validation split.
//
// After training, normalize() sets the model's gain and bias so that the rewards of a reference
// set of sequences have mean 0 and std 1 (lm-human-preferences); save() stores them in config.json.
// save()/resume() work as in SFTTrainer: a resumed run continues bit for bit.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <span>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/backend/staging.hpp"
#include "rlhf/data/preference_dataset.hpp"
#include "rlhf/data/shuffle.hpp"
#include "rlhf/io/reward_checkpoint.hpp"
#include "rlhf/loss/bradley_terry.hpp"
#include "rlhf/nn/reward_model.hpp"
#include "rlhf/optim/adamw.hpp"
#include "rlhf/optim/clip.hpp"
#include "rlhf/optim/schedule.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/step_loop.hpp"
#include "rlhf/train/trainer_state.hpp"

namespace rlhf::train {

// The step loop's fields (train/step_loop.hpp), with the reward model's defaults: 500 steps at
// 1e-4, 20 warmup steps, no weight decay; and its own fields.
struct RewardConfig : StepLoopConfig {
  std::int64_t batch_size = 32;            // groups per optimizer step
  std::int64_t micro_batch_tokens = 8192;  // padded tokens per forward/backward (rows × longest)
  double center_coefficient = 0;           // pairwise data: c · mean((r_w + r_l)²); 0: off

  RewardConfig() {
    max_steps = 500;
    learning_rate = 1e-4;
    warmup_steps = 20;
    adamw.weight_decay = 0.0;
  }

  // Errors name the fields as `names` does (core/field_names.hpp).
  void validate(const FieldNames& names = FieldNames("RewardConfig")) const {
    const auto n = [&](const auto& field, std::string_view member) { return names(&field, member); };
    require_positive(n(batch_size, "batch_size"), batch_size);
    require_positive(n(micro_batch_tokens, "micro_batch_tokens"), micro_batch_tokens);
    require_finite_non_negative(n(center_coefficient, "center_coefficient"), center_coefficient);
    validate_step_options(*this, names);
  }
};

struct RewardEvaluation {
  double loss = 0;
  loss::RankingStats ranking;
  double reward_mean = 0, reward_std = 0;
  std::int64_t completions = 0;
};

// Running mean and (population) variance of rewards, over any number of batches.
struct RewardMoments {
  double sum = 0, sum_sq = 0;
  std::int64_t n = 0;
  template <class T>
  void add(std::span<const T> r) {
    for (const T x : r) {
      sum += double(x);
      sum_sq += double(x) * double(x);
    }
    n += static_cast<std::int64_t>(r.size());
  }
  double mean() const { return n ? sum / double(n) : 0.0; }
  double std_dev() const { return n ? std::sqrt(std::max(0.0, sum_sq / double(n) - mean() * mean())) : 0.0; }
};

// Fails unless the reference set holds two different texts as the reward head reads them (up to
// the read position raw_rewards uses). With one text every reward is equal and the std is 0
// whatever the model learns; checked before training, so the run does not fail at its end.
// `source` names the set in the error ("--normalize-data data/ref.jsonl").
inline void require_distinct_references(std::span<const std::vector<std::int32_t>> sequences,
                                        std::span<const std::int64_t> from, std::int32_t eos_id,
                                        std::string_view source) {
  std::set<std::vector<std::int32_t>> read;
  for (std::size_t i = 0; i < sequences.size() && read.size() < 2; ++i) {
    const auto& s = sequences[i];
    if (s.empty()) continue;
    const std::int64_t at = data::reward_position(s, from.empty() ? 0 : from[i], eos_id);
    read.emplace(s.begin(), s.begin() + at + 1);
  }
  if (sequences.empty()) fail(source, ": no texts to normalise the rewards on");
  if (read.size() < 2)
    fail(source, ": the rewards are normalised on ", sequences.size() == 1 ? "one text" : "texts that are all the same",
         ", so their std would be 0 whatever the model learns; give at least two different texts");
}

// The raw reward (before normalisation) of each sequence, read at its first EOS at or after
// from[i] (the response's start; 0 when `from` is empty), else at its last token; in batches of
// rows_per_batch sequences padded on the right.
template <class T, Backend B>
std::vector<T> raw_rewards(nn::RewardModel<T, B>& model, std::span<const std::vector<std::int32_t>> sequences,
                           std::span<const std::int64_t> from, std::int32_t eos_id, std::int64_t rows_per_batch = 16) {
  std::vector<T> out;
  Tensor<std::int32_t, B> ids_device;
  Tensor<T, B> mask_device;
  for (std::size_t i0 = 0; i0 < sequences.size(); i0 += std::size_t(rows_per_batch)) {
    const std::size_t i1 = std::min(sequences.size(), i0 + std::size_t(rows_per_batch));
    std::int64_t T_max = 0;
    for (std::size_t i = i0; i < i1; ++i) {
      if (sequences[i].empty()) fail("raw_rewards: sequence ", i, " is empty");
      T_max = std::max<std::int64_t>(T_max, std::int64_t(sequences[i].size()));
    }
    if (T_max > model.config().n_positions)
      fail("raw_rewards: a sequence of ", T_max, " tokens exceeds the context of ", model.config().n_positions);
    const auto rows = std::int64_t(i1 - i0);
    Tensor<std::int32_t, cpu> ids(Shape{rows, T_max});
    Tensor<T, cpu> mask(Shape{rows, T_max});
    std::vector<std::int32_t> read_at;
    for (std::size_t i = i0; i < i1; ++i) {
      const auto& s = sequences[i];
      const auto r = std::int64_t(i - i0);
      for (std::int64_t t = 0; t < T_max; ++t) {
        const bool real = t < std::int64_t(s.size());
        ids.data()[r * T_max + t] = real ? s[std::size_t(t)] : 0;
        mask.data()[r * T_max + t] = real ? T(1) : T(0);
      }
      read_at.push_back(data::reward_position(s, from.empty() ? 0 : from[i], eos_id));
    }
    const View<const T, B> r =
        model.rewards(on_backend<B>(ids.cview(), ids_device), {}, on_backend<B>(mask.cview(), mask_device), read_at);
    const std::size_t n0 = out.size();
    out.resize(n0 + std::size_t(r.numel()));
    bytes_to_host(model.backend(), out.data() + n0, r.data(), r.bytes());
  }
  return out;
}

template <class T, Backend B>
class RewardTrainer {
 public:
  // Keeps references to model and data: both must outlive the trainer.
  RewardTrainer(nn::RewardModel<T, B>& model, const data::PreferenceDataset& dataset, data::DataSplit split,
                RewardConfig config)
      : model_(model),
        dataset_(dataset),
        split_(std::move(split)),
        config_(config),
        optimizer_(model.gpt().layout(), config.adamw, model.backend()),
        sampler_(split_.train, config.seed) {
    config_.validate();
    if (dataset.max_length() > model.config().n_positions)
      fail("RewardTrainer: sequences of up to ", dataset.max_length(), " tokens do not fit the context of ",
           model.config().n_positions);
  }

  std::int64_t step_count() const { return step_; }
  const RewardConfig& config() const { return config_; }

  // The loss of one micro-batch and its gradient with respect to its rewards, weighted by the
  // micro-batch's share (its groups / the step's groups).
  double micro_loss(const data::RewardBatch<T>& batch, std::span<const T> rewards, std::span<T> drewards,
                    double share) const;

  // One optimizer step; returns its metrics.
  nlohmann::json step();

  // Loss (mean over groups), accuracy and margin over every untied pair, reward moments.
  RewardEvaluation evaluate() { return evaluate(split_.validation); }
  RewardEvaluation evaluate(std::span<const std::int64_t> groups);

  // Runs to max_steps: a progress line and metrics record every log_every steps, an evaluation
  // every eval_every steps and at the end, then on_checkpoint(step). A stop() that returns true
  // ends the run early, after on_checkpoint(step).
  template <class OnCheckpoint>
  RewardEvaluation train(MetricsLog& log, OnCheckpoint&& on_checkpoint, std::FILE* progress = stdout,
                         const StopRequested& stop = {}) {
    RewardEvaluation last;
    run_steps(
        step_, {config_.max_steps, config_.eval_every, config_.log_every}, [&] { return step(); },
        [&](nlohmann::json& record) {
          if (split_.validation.empty()) return;
          last = evaluate();
          record["eval/loss"] = last.loss;
          record["eval/accuracy"] = last.ranking.accuracy();
          record["eval/margin"] = last.ranking.mean_margin();
          record["eval/rewards_mean"] = last.reward_mean;
          record["eval/rewards_std"] = last.reward_std;
        },
        log, on_checkpoint, progress, stop);
    return last;
  }

  // Sets the model's normalisation from the raw rewards of `sequences` (reward read at the first
  // EOS at or after from[i], else the last token): mean 0, std 1. Returns the raw mean and std.
  std::pair<double, double> normalize(std::span<const std::vector<std::int32_t>> sequences,
                                      std::span<const std::int64_t> from = {}) {
    require_distinct_references(sequences, from, dataset_.eos_id(), "RewardTrainer::normalize");
    RewardMoments moments;
    moments.add(std::span<const T>(raw_rewards(model_, sequences, from, dataset_.eos_id())));
    model_.normalize_to(moments.mean(), moments.std_dev());
    return {moments.mean(), moments.std_dev()};
  }

  // The reference set lm-human-preferences would use when no policy samples are given: every
  // completion of the validation groups (else of the training groups).
  std::vector<std::vector<std::int32_t>> reference_sequences(std::vector<std::int64_t>* from = nullptr) const;

  void save(const std::filesystem::path& dir, const io::SaveOptions& options = {});

  void resume(const std::filesystem::path& dir);

 private:
  // Raw rewards of every row of the batch, on the host.
  std::span<const T> forward(const data::RewardBatch<T>& batch);

  nn::RewardModel<T, B>& model_;
  const data::PreferenceDataset& dataset_;
  data::DataSplit split_;
  RewardConfig config_;
  optim::AdamW<T, B> optimizer_;
  data::EpochSampler sampler_;
  data::RewardBatcher<T> batcher_;
  std::vector<std::int64_t> batch_groups_;
  std::vector<T> host_rewards_, drewards_;
  mutable std::vector<T> pair_r_, pair_d_, margins_;
  Tensor<std::int32_t, B> ids_device_;
  Tensor<T, B> mask_device_, drewards_device_;
  std::int64_t step_ = 0;
};

// RewardTrainer's member functions, outside the class so that compiled mode's extern template
// skips them (docs/architecture.md, "Compiled mode").
template <class T, Backend B>
double RewardTrainer<T, B>::micro_loss(const data::RewardBatch<T>& batch, std::span<const T> rewards,
                                       std::span<T> drewards, double share) const {
  double loss = 0;
  if (dataset_.format() == data::PreferenceFormat::pairwise) {
    const std::size_t P = batch.groups.size();
    pair_r_.resize(2 * P);
    pair_d_.resize(2 * P);
    margins_.resize(P);
    for (std::size_t p = 0; p < P; ++p) {
      const std::int64_t o = batch.groups[p].offset;  // chosen at o (rank 1), rejected at o + 1
      pair_r_[p] = rewards[std::size_t(o)];
      pair_r_[P + p] = rewards[std::size_t(o + 1)];
      margins_[p] = T(batch.margins[p]);
    }
    const std::span<const T> all(pair_r_);
    loss = loss::pairwise_loss<T>(
        all.first(P), all.last(P), std::span(pair_d_).first(P), std::span(pair_d_).last(P),
        {dataset_.has_margin() ? std::span<const T>(margins_) : std::span<const T>{}, config_.center_coefficient});
    std::fill(drewards.begin(), drewards.end(), T(0));
    for (std::size_t p = 0; p < P; ++p) {
      const auto o = std::size_t(batch.groups[p].offset);
      drewards[o] = pair_d_[p];
      drewards[o + 1] = pair_d_[P + p];
    }
  } else {
    loss = loss::kwise_loss<T>(rewards, batch.groups, drewards);
  }
  for (T& d : drewards) d = T(double(d) * share);
  return loss;
}

template <class T, Backend B>
nlohmann::json RewardTrainer<T, B>::step() {
  const auto start = std::chrono::steady_clock::now();
  sampler_.next(config_.batch_size, batch_groups_);
  model_.zero_grad();
  double loss = 0;
  loss::RankingStats ranking;
  RewardMoments moments;
  for (const auto& micro : data::plan_micro_batches(dataset_, batch_groups_, config_.micro_batch_tokens)) {
    const data::RewardBatch<T>& batch = batcher_.fill(dataset_, micro);
    const std::span<const T> r = forward(batch);
    drewards_.resize(r.size());
    const double share = double(micro.size()) / double(batch_groups_.size());
    const double l = micro_loss(batch, r, drewards_, share);
    if (!std::isfinite(l)) fail("RewardTrainer: the loss is ", l, " at step ", step_, " (learning rate too high?)");
    loss += share * l;
    ranking += loss::ranking_stats(r, batch.groups);
    moments.add(r);
    bytes_from_host(model_.backend(), drewards_device_.data(), drewards_.data(), drewards_.size() * sizeof(T));
    model_.backward(drewards_device_.cview());
  }
  const double grad_norm =
      optim::clip_grad_norm(model_.backend(), model_.gpt().gradients().view(), config_.max_grad_norm);
  const double lr = config_.schedule()(step_);
  optimizer_.step(model_.gpt().parameters().view(), model_.gpt().gradients(), lr);
  ++step_;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {{"step", step_},
          {"train/loss", loss},
          {"train/accuracy", ranking.accuracy()},
          {"train/margin", ranking.mean_margin()},
          {"train/rewards_mean", moments.mean()},
          {"train/rewards_std", moments.std_dev()},
          {"train/learning_rate", lr},
          {"train/grad_norm", grad_norm},
          {"train/comparisons_per_second", double(ranking.pairs) / seconds},
          {"train/epoch",
           double(sampler_.position().epoch) + double(sampler_.position().index) / double(sampler_.epoch_size())}};
}

template <class T, Backend B>
RewardEvaluation RewardTrainer<T, B>::evaluate(std::span<const std::int64_t> groups) {
  RewardEvaluation ev;
  RewardMoments moments;
  double loss_sum = 0;
  for (const auto& micro : data::plan_micro_batches(dataset_, groups, config_.micro_batch_tokens)) {
    const data::RewardBatch<T>& batch = batcher_.fill(dataset_, micro);
    const std::span<const T> r = forward(batch);
    drewards_.resize(r.size());
    loss_sum += micro_loss(batch, r, drewards_, 1.0) * double(micro.size());
    ev.ranking += loss::ranking_stats(r, batch.groups);
    moments.add(r);
  }
  if (!groups.empty()) ev.loss = loss_sum / double(groups.size());
  ev.reward_mean = moments.mean();
  ev.reward_std = moments.std_dev();
  ev.completions = moments.n;
  return ev;
}

template <class T, Backend B>
std::vector<std::vector<std::int32_t>> RewardTrainer<T, B>::reference_sequences(std::vector<std::int64_t>* from) const {
  const std::vector<std::int64_t>& groups = split_.validation.empty() ? split_.train : split_.validation;
  std::vector<std::vector<std::int32_t>> out;
  for (const std::int64_t g : groups)
    for (const auto& s : dataset_[g].sequences) {
      out.push_back(s);
      if (from) from->push_back(dataset_[g].prompt_length);
    }
  return out;
}

template <class T, Backend B>
void RewardTrainer<T, B>::save(const std::filesystem::path& dir, const io::SaveOptions& options) {
  io::save_reward_model(dir, model_, options);
  save_step_state(dir, optimizer_, step_, sampler_, config_.seed, split_);
}

template <class T, Backend B>
void RewardTrainer<T, B>::resume(const std::filesystem::path& dir) {
  const std::int64_t step = resume_step_state(dir, optimizer_, sampler_, config_.seed, split_);
  io::load_reward_weights(dir, model_);
  step_ = step;
}

template <class T, Backend B>
std::span<const T> RewardTrainer<T, B>::forward(const data::RewardBatch<T>& batch) {
  const View<const T, B> r = model_.rewards(on_backend<B>(batch.ids, ids_device_), {},
                                            on_backend<B>(batch.key_mask, mask_device_), batch.read_at);
  host_rewards_.resize(std::size_t(r.numel()));
  bytes_to_host(model_.backend(), host_rewards_.data(), r.data(), r.bytes());
  if (drewards_device_.numel() != r.numel()) drewards_device_ = Tensor<T, B>(Shape{r.numel()});
  return host_rewards_;
}

}  // namespace rlhf::train

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu/tag.hpp"
namespace rlhf::train {
extern template class RewardTrainer<float, cpu>;
extern template class RewardTrainer<double, cpu>;
extern template std::vector<float> raw_rewards(nn::RewardModel<float, cpu>&, std::span<const std::vector<std::int32_t>>,
                                               std::span<const std::int64_t>, std::int32_t, std::int64_t);
extern template std::vector<double> raw_rewards(nn::RewardModel<double, cpu>&,
                                                std::span<const std::vector<std::int32_t>>,
                                                std::span<const std::int64_t>, std::int32_t, std::int64_t);
}  // namespace rlhf::train
#endif
