#pragma once
// Supervised fine-tuning (InstructGPT step 1): next-token cross-entropy on demonstrations, only
// on the tokens the data marks (the completion of a {"prompt", "completion"} example, all of a
// {"text"} one). AdamW with linear warmup and cosine decay, global gradient-norm clipping, and
// gradient accumulation: a step of batch_size sequences runs in micro-batches whose gradients add
// up to the gradient of the mean over all the step's loss tokens.
//
// State and resume: save() writes the model as a Hugging Face GPT-2 checkpoint plus
// optimizer.safetensors (AdamW's moments) and trainer_state.json (step, data position, seed);
// resume() restores all of it, and training continues bit-identically to a run that was never
// interrupted (same machine and thread count): the data order is a pure function of the seed and
// the data position, and nothing else is random.
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "rlhf/backend/staging.hpp"
#include "rlhf/data/batch.hpp"
#include "rlhf/data/sft_dataset.hpp"
#include "rlhf/data/shuffle.hpp"
#include "rlhf/io/checkpoint.hpp"
#include "rlhf/nn/gpt.hpp"
#include "rlhf/optim/adamw.hpp"
#include "rlhf/optim/clip.hpp"
#include "rlhf/optim/schedule.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/step_loop.hpp"
#include "rlhf/train/trainer_state.hpp"

namespace rlhf::train {

// The step loop's fields (train/step_loop.hpp: max_steps 1000, learning_rate 3e-4, warmup_steps
// 50, AdamW weight decay 0.1, ...) and SFT's own.
struct SFTConfig : StepLoopConfig {
  std::int64_t batch_size = 16;       // sequences per optimizer step
  std::int64_t micro_batch_size = 0;  // sequences per forward/backward; 0: the whole batch
  std::int64_t eval_max_batches = 0;  // 0: the whole validation set

  // Errors name the fields as `names` does (core/field_names.hpp).
  void validate(const FieldNames& names = FieldNames("SFTConfig")) const {
    const auto n = [&](const auto& field, std::string_view member) { return names(&field, member); };
    require_positive(n(batch_size, "batch_size"), batch_size);
    if (micro_batch_size < 0 || micro_batch_size > batch_size)
      fail(n(micro_batch_size, "micro_batch_size"), " must lie in [0, ", n(batch_size, "batch_size"), " = ", batch_size,
           "], got ", micro_batch_size);
    if (eval_max_batches < 0) fail(n(eval_max_batches, "eval_max_batches"), " must be >= 0, got ", eval_max_batches);
    validate_step_options(*this, names);
  }
};

struct SFTEvaluation {
  double loss = 0;            // mean cross-entropy per loss token
  double token_accuracy = 0;  // share of loss tokens whose most likely next token is right
  std::int64_t tokens = 0;
};

template <class T, Backend B>
class SFTTrainer {
 public:
  // The trainer keeps references to model and data: both must outlive it.
  SFTTrainer(nn::GPT<T, B>& model, const data::SftDataset& dataset, data::DataSplit split, SFTConfig config)
      : model_(model),
        dataset_(dataset),
        split_(std::move(split)),
        config_(config),
        optimizer_(model.layout(), config.adamw, model.backend()),
        sampler_(split_.train, config.seed) {
    config_.validate();
    if (split_.train.empty()) fail("SFTTrainer: no training examples");
    if (dataset.max_length() > model.config().n_positions)
      fail("SFTTrainer: examples of up to ", dataset.max_length(), " tokens do not fit the context of ",
           model.config().n_positions);
  }

  std::int64_t step_count() const { return step_; }
  const SFTConfig& config() const { return config_; }
  data::DataPosition data_position() const { return sampler_.position(); }

  // One optimizer step; returns its metrics (TRL's names where they exist).
  nlohmann::json step();

  // Loss and token accuracy over the validation examples (or the first eval_max_batches batches).
  SFTEvaluation evaluate();

  // Runs to max_steps: a progress line and a metrics record every log_every steps, an
  // evaluation every eval_every steps and at the end, and on_checkpoint(step) after each
  // evaluation (to save, for example). A stop() that returns true ends the run early, after
  // on_checkpoint(step); step_count() < max_steps then tells that it stopped.
  template <class OnCheckpoint>
  SFTEvaluation train(MetricsLog& log, OnCheckpoint&& on_checkpoint, std::FILE* progress = stdout,
                      const StopRequested& stop = {}) {
    SFTEvaluation last;
    run_steps(
        step_, {config_.max_steps, config_.eval_every, config_.log_every}, [&] { return step(); },
        [&](nlohmann::json& record) {
          if (split_.validation.empty()) return;
          last = evaluate();
          record["eval/loss"] = last.loss;
          record["eval/token_accuracy"] = last.token_accuracy;
        },
        log, on_checkpoint, progress, stop);
    return last;
  }

  // The model as a Hugging Face GPT-2 checkpoint, plus the training state beside it.
  void save(const std::filesystem::path& dir, const io::SaveOptions& options = {});

  // Restores what save() wrote: weights, AdamW moments and step, data position.
  void resume(const std::filesystem::path& dir);

 private:
  // A batch's tensors as views of the model's backend (the host batch itself on the CPU).
  struct Staged {
    View<const std::int32_t, B> ids, targets;
    View<const T, B> loss_mask, key_mask;
  };
  Staged stage(const data::TokenBatch<T>& batch);

  const data::TokenBatch<T>& fill(std::span<const std::int64_t> indices);

  // Loss tokens of the last lm_loss whose argmax logit is the target.
  std::int64_t correct_predictions(const data::TokenBatch<T>& batch, std::vector<T>& logits);

  nn::GPT<T, B>& model_;
  const data::SftDataset& dataset_;
  data::DataSplit split_;
  SFTConfig config_;
  optim::AdamW<T, B> optimizer_;
  data::EpochSampler sampler_;
  data::Batcher<T> batcher_;
  std::vector<std::int64_t> batch_indices_;
  Tensor<std::int32_t, B> ids_s_, targets_s_;  // staging for a device backend (backend/staging.hpp)
  Tensor<T, B> loss_mask_s_, key_mask_s_;
  std::int64_t step_ = 0;
};

// SFTTrainer's member functions, outside the class so that compiled mode's extern template
// skips them (docs/architecture.md, "Compiled mode").
template <class T, Backend B>
nlohmann::json SFTTrainer<T, B>::step() {
  const auto start = std::chrono::steady_clock::now();
  sampler_.next(config_.batch_size, batch_indices_);
  const std::int64_t micro = config_.micro_batch_size > 0 ? config_.micro_batch_size : config_.batch_size;
  // The loss tokens of the whole step: each micro-batch's mean is weighted by its share.
  std::int64_t step_tokens = 0, all_tokens = 0;
  for (std::int64_t i : batch_indices_) {
    const data::SftExample& e = dataset_[i];
    step_tokens += e.targets();
    all_tokens += static_cast<std::int64_t>(e.tokens.size());
  }
  if (step_tokens == 0) fail("SFTTrainer: step ", step_, " has no loss tokens");
  model_.zero_grad();
  double loss = 0;
  for (std::size_t m0 = 0; m0 < batch_indices_.size(); m0 += std::size_t(micro)) {
    const std::size_t m1 = std::min(batch_indices_.size(), m0 + std::size_t(micro));
    const auto& batch = fill(std::span(batch_indices_).subspan(m0, m1 - m0));
    const double share = double(batch.loss_tokens) / double(step_tokens);
    if (batch.loss_tokens == 0) continue;
    const Staged staged = stage(batch);
    model_.forward(staged.ids, {}, staged.key_mask);
    const T micro_loss = model_.lm_loss(staged.targets, staged.loss_mask);
    if (!std::isfinite(double(micro_loss)))
      fail("SFTTrainer: the loss is ", micro_loss, " at step ", step_, " (learning rate too high, or bad data?)");
    loss += share * double(micro_loss);
    model_.backward_lm_loss(T(share));
  }
  const double grad_norm = optim::clip_grad_norm(model_.backend(), model_.gradients().view(), config_.max_grad_norm);
  const double lr = config_.schedule()(step_);
  optimizer_.step(model_.parameters().view(), model_.gradients(), lr);
  ++step_;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {{"step", step_},
          {"train/loss", loss},
          {"train/learning_rate", lr},
          {"train/grad_norm", grad_norm},
          {"train/tokens_per_second", double(all_tokens) / seconds},
          {"train/epoch",
           double(sampler_.position().epoch) + double(sampler_.position().index) / double(sampler_.epoch_size())}};
}

template <class T, Backend B>
SFTEvaluation SFTTrainer<T, B>::evaluate() {
  SFTEvaluation ev;
  const std::vector<std::int64_t>& val = split_.validation;
  const auto micro =
      static_cast<std::size_t>(config_.micro_batch_size > 0 ? config_.micro_batch_size : config_.batch_size);
  double loss_sum = 0;
  std::int64_t right = 0, batches = 0;
  std::vector<T> logits;
  for (std::size_t m0 = 0; m0 < val.size(); m0 += micro) {
    if (config_.eval_max_batches > 0 && batches++ >= config_.eval_max_batches) break;
    const std::size_t m1 = std::min(val.size(), m0 + micro);
    const auto& batch = fill(std::span(val).subspan(m0, m1 - m0));
    if (batch.loss_tokens == 0) continue;
    const Staged staged = stage(batch);
    model_.forward(staged.ids, {}, staged.key_mask);
    loss_sum += double(model_.lm_loss(staged.targets, staged.loss_mask)) * double(batch.loss_tokens);
    ev.tokens += batch.loss_tokens;
    right += correct_predictions(batch, logits);
  }
  if (ev.tokens > 0) {
    ev.loss = loss_sum / double(ev.tokens);
    ev.token_accuracy = double(right) / double(ev.tokens);
  }
  return ev;
}

template <class T, Backend B>
void SFTTrainer<T, B>::save(const std::filesystem::path& dir, const io::SaveOptions& options) {
  io::save_gpt(dir, model_, options);
  save_step_state(dir, optimizer_, step_, sampler_, config_.seed, split_);
}

template <class T, Backend B>
void SFTTrainer<T, B>::resume(const std::filesystem::path& dir) {
  const std::int64_t step = resume_step_state(dir, optimizer_, sampler_, config_.seed, split_);
  io::load_weights(dir, model_);
  step_ = step;
}

template <class T, Backend B>
auto SFTTrainer<T, B>::stage(const data::TokenBatch<T>& batch) -> Staged {
  return {on_backend<B>(batch.ids, ids_s_), on_backend<B>(batch.targets, targets_s_),
          on_backend<B>(batch.loss_mask, loss_mask_s_), on_backend<B>(batch.key_mask, key_mask_s_)};
}

template <class T, Backend B>
const data::TokenBatch<T>& SFTTrainer<T, B>::fill(std::span<const std::int64_t> indices) {
  return batcher_.fill(static_cast<std::int64_t>(indices.size()),
                       [&](std::int64_t b) { return dataset_[indices[std::size_t(b)]].sequence(); });
}

template <class T, Backend B>
std::int64_t SFTTrainer<T, B>::correct_predictions(const data::TokenBatch<T>& batch, std::vector<T>& logits) {
  const View<const T, B> device = model_.last_logits();
  logits.resize(static_cast<std::size_t>(device.numel()));
  bytes_to_host(model_.backend(), logits.data(), device.data(), device.bytes());
  const std::int64_t V = device.size(1);
  std::int64_t right = 0;
  for (std::int64_t n = 0; n < batch.ids.numel(); ++n) {
    if (batch.loss_mask.data()[n] == T(0)) continue;
    const T* row = logits.data() + n * V;
    right += std::max_element(row, row + V) - row == batch.targets.data()[n];
  }
  return right;
}

}  // namespace rlhf::train

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu/tag.hpp"
namespace rlhf::train {
extern template class SFTTrainer<float, cpu>;
extern template class SFTTrainer<double, cpu>;
}  // namespace rlhf::train
#endif
