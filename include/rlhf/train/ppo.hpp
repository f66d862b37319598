#pragma once
// PPO against a reward (InstructGPT step 3; Stiennon et al. 2020; Ziegler et al. 2019). Four
// models: the policy (trained, initialised from SFT), the reference (the frozen SFT weights), a
// scorer (the frozen reward model, or any C++ callable), and the value model (trained, its own
// parameters, initialised from the reward model). One iteration:
//
//   rollout    sample batch_size prompts, generate with the KV-cached sampler; the log-prob of
//              each response token under the policy (from generation) and the reference, the
//              value of each state, and the score of each (prompt, response)
//   rewards    r_t = −β k_t on every response token, + the score at its last token
//              (loss/ppo.hpp: per_token_rewards); optional score clip, missing-EOS penalty,
//              reward whitening
//   advantages GAE(γ, λ), returns = A + V, then masked whitening of A
//   update     ppo_epochs × minibatches (each in micro-batches): clipped surrogate, clipped value
//              loss, optional entropy bonus, PPO-ptx (γ_ptx × the LM loss of a pretraining batch)
//              in the policy's step; gradient clipping, AdamW for policy and value; an optional
//              early stop when the minibatch's approx-KL exceeds a bound
//   KL coef    fixed, or Ziegler et al.'s adaptive controller
//
// Token j of the "action" arrays [B, L − 1] is the token at column j + 1, predicted from
// position j: its log-prob is the model's log-prob head at j, its value the value head at j. The
// log-probs at update time use the same temperature and kernels as generation, so the first
// ratio of the first epoch is 1 (to float round-off; reported as policy/first_ratio_error).
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rlhf/backend/staging.hpp"
#include "rlhf/core/random_streams.hpp"
#include "rlhf/io/checkpoint.hpp"
#include "rlhf/io/reward_checkpoint.hpp"
#include "rlhf/data/batch.hpp"
#include "rlhf/data/shuffle.hpp"
#include "rlhf/data/sft_dataset.hpp"
#include "rlhf/generate/generate.hpp"
#include "rlhf/loss/ppo.hpp"
#include "rlhf/nn/gpt.hpp"
#include "rlhf/nn/reward_model.hpp"
#include "rlhf/optim/adamw.hpp"
#include "rlhf/optim/clip.hpp"
#include "rlhf/train/metrics_log.hpp"
#include "rlhf/train/ppo_config.hpp"
#include "rlhf/train/rollout.hpp"
#include "rlhf/train/trainer_state.hpp"

namespace rlhf::train {

template <class T, Backend B>
class PPOTrainer {
 public:
  // policy and value are trained; reference (and the reward model inside `scorer`) are frozen
  // models (nn::Trainable::no), run forward only.
  // prompts: tokenised PPO prompts; ptx: an SFT dataset for PPO-ptx (may be null when ptx_coef is
  // 0); eos_id -1: responses end only at max_new_tokens. Everything passed by reference must
  // outlive the trainer.
  PPOTrainer(nn::GPT<T, B>& policy, nn::GPT<T, B>& reference, nn::RewardModel<T, B>& value, Scorer<T> scorer,
             const std::vector<std::vector<std::int32_t>>& prompts, std::int32_t eos_id, PPOConfig config,
             const data::SftDataset* ptx = nullptr)
      : policy_(policy),
        reference_(reference),
        value_(value),
        scorer_(std::move(scorer)),
        prompts_(prompts),
        eos_(eos_id),
        config_(config),
        policy_opt_(policy.layout(), config.adamw, policy.backend()),
        value_opt_(value.gpt().layout(), config.adamw, value.backend()),
        kl_(config.kl_coef, config.kl_target, config.kl_horizon),
        prompt_sampler_(all_indices(prompts.size()), config.seed),
        ptx_(ptx) {
    config_.validate();
    if (prompts.empty()) fail("PPOTrainer: no prompts");
    if (reference.trainable()) fail("PPOTrainer: the reference model must be frozen (GPT built with Trainable::no)");
    if (!policy.trainable() || !value.gpt().trainable()) fail("PPOTrainer: policy and value model must be trainable");
    if (config_.ptx_coef > 0 && (!ptx_ || ptx_->size() == 0))
      fail("PPOTrainer: ptx_coef > 0 needs a pretraining dataset");
    if (config_.ptx_coef > 0) ptx_sampler_.emplace(all_indices(std::size_t(ptx_->size())), config.seed ^ ptx_seed_mask);
    for (std::size_t i = 0; i < prompts.size(); ++i)
      if (prompts[i].empty()) fail("PPOTrainer: prompt ", i, " is empty");
  }

  std::int64_t iteration() const { return iteration_; }
  double kl_coef() const { return kl_.value(); }
  const PPOConfig& config() const { return config_; }
  const Rollout<T>& last_rollout() const { return rollout_; }

  // Rollout: generation, reference log-probs, values, scores, rewards, advantages.
  const Rollout<T>& rollout();

  // One iteration: rollout, update, KL controller; returns the metrics (TRL's names). A failure
  // (a non-finite score, loss or gradient) names the iteration; the weights are then unusable,
  // and a run goes back to its last checkpoint.
  nlohmann::json step();

  // The update alone (ppo_epochs × minibatches) on the last rollout(), without a new rollout or
  // the KL controller: step() is rollout(), then this. Called again, it trains once more on the
  // same rollout (on a fixed rollout the value model's loss must fall). Returns its metrics.
  nlohmann::json update();

  // dir/policy (a GPT-2 checkpoint: the trained policy), dir/value (a reward-model checkpoint:
  // the value model), each with its optimizer.safetensors, and dir/trainer_state.json
  // (iteration, KL coefficient, data positions, seed). Every file is written atomically;
  // trainer_state.json goes last.
  void save(const std::filesystem::path& dir, const io::SaveOptions& options = {});

  // Restores what save() wrote; the run then continues as if it had never stopped.
  void resume(const std::filesystem::path& dir);

  // Runs `iterations` iterations, logging each (progress line every log_every).
  void train(std::int64_t iterations, MetricsLog& log, std::int64_t log_every = 1, std::FILE* progress = stdout);

 private:
  // What generation writes after a row's end (masked everywhere): the EOS, or token 0 without one.
  std::int32_t pad_id() const { return eos_ >= 0 ? eos_ : 0; }

  static std::vector<std::int64_t> all_indices(std::size_t n);

  // Positions [0, L − 1) of a [B, L] backend tensor into a host action array [B, L − 1].
  void copy_actions(View<const T, B> full, Tensor<T, cpu>& out) const;

  // Rows `rows` of a [B, X] host tensor, as a new [n, X] host tensor.
  template <class E>
  static Tensor<E, cpu> gather_rows(const Tensor<E, cpu>& t, std::span<const std::int64_t> rows) {
    const std::int64_t X = t.size(1);
    Tensor<E, cpu> out(Shape{std::int64_t(rows.size()), X});
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::copy_n(t.data() + rows[i] * X, X, out.data() + std::int64_t(i) * X);
    return out;
  }

  // step() without the iteration in its errors.
  nlohmann::json iterate();

  void run_update(nlohmann::json& m);

  struct MicroStats {
    double pg_loss = 0, vf_loss = 0, clipfrac = 0, vclipfrac = 0, approxkl = 0, entropy = 0;
  };

  // Forward and backward of the policy and the value model on episodes `rows`; each loss is the
  // masked mean over the minibatch's tokens (this micro-batch's share: its tokens / theirs).
  MicroStats micro_step(std::span<const std::int64_t> rows, double mini_tokens, T tau, double* first_ratio_error);

  // An action array [n, L − 1] as a full [n, L] backend tensor (position L − 1 gets 0).
  static View<const T, B> to_full(const Tensor<T, cpu>& actions, Tensor<T, B>& staging);

  // PPO-ptx: γ × the LM loss of a batch of pretraining text, into the policy's gradients.
  double ptx_step();

  nn::GPT<T, B>& policy_;
  nn::GPT<T, B>& reference_;  // forward only; frozen (no gradient buffers)
  nn::RewardModel<T, B>& value_;
  Scorer<T> scorer_;
  const std::vector<std::vector<std::int32_t>>& prompts_;
  std::int32_t eos_;
  PPOConfig config_;
  optim::AdamW<T, B> policy_opt_, value_opt_;
  loss::AdaptiveKL kl_;
  data::EpochSampler prompt_sampler_;
  const data::SftDataset* ptx_;
  std::optional<data::EpochSampler> ptx_sampler_;
  data::Batcher<T> ptx_batcher_;
  Rollout<T> rollout_;
  std::int64_t iteration_ = 0;
  double scoring_seconds_ = 0;
  Tensor<std::int32_t, B> ids_s_, pos_s_, tgt_s_;
  Tensor<T, B> attn_s_, dlogp_s_, dent_s_, dv_s_;
};

// PPOTrainer's member functions, outside the class so that compiled mode's extern template
// skips them (docs/architecture.md, "Compiled mode").
template <class T, Backend B>
const Rollout<T>& PPOTrainer<T, B>::rollout() {
  Rollout<T>& r = rollout_;
  r.prompts.clear();
  for (std::int64_t i = 0; i < config_.batch_size; ++i)
    r.prompts.push_back(prompts_[std::size_t(prompt_sampler_.next())]);
  GenerationConfig g;
  g.max_new_tokens = config_.max_new_tokens;
  g.sampling = config_.sampling;
  g.eos_id = eos_;
  g.pad_id = pad_id();
  g.seed = rollout_seed(config_.seed, iteration_);
  r.generation = generate(policy_, r.prompts, g);
  const Generation<T>& gen = r.generation;
  const std::int64_t Bn = gen.tokens.size(0), L = gen.tokens.size(1), A = L - 1;
  r.responses.assign(std::size_t(Bn), {});
  r.ended.assign(std::size_t(Bn), false);
  for (std::int64_t b = 0; b < Bn; ++b) {
    bool ended = false;
    r.responses[std::size_t(b)] = gen.response(b, eos_, &ended);
    r.ended[std::size_t(b)] = ended;
  }
  r.targets = Tensor<std::int32_t, cpu>(Shape{Bn, L});
  for (std::int64_t b = 0; b < Bn; ++b)
    for (std::int64_t t = 0; t < L; ++t) r.targets(b, t) = t + 1 < L ? gen.tokens(b, t + 1) : pad_id();
  for (Tensor<T, cpu>* a : {&r.mask, &r.old_logp, &r.ref_logp, &r.values, &r.kl, &r.rewards, &r.advantages, &r.returns})
    *a = Tensor<T, cpu>(Shape{Bn, A});
  for (std::int64_t b = 0; b < Bn; ++b)
    for (std::int64_t j = 0; j < A; ++j) {
      r.mask(b, j) = gen.response_mask(b, j + 1);
      r.old_logp(b, j) = gen.logprobs(b, j + 1);
    }
  // Reference log-probs and values, one forward each over the whole batch.
  const auto ids = on_backend<B>(gen.tokens.cview(), ids_s_), pos = on_backend<B>(gen.positions.cview(), pos_s_);
  const auto attn = on_backend<B>(gen.attention_mask.cview(), attn_s_);
  const auto tgt = on_backend<B>(r.targets.cview(), tgt_s_);
  reference_.forward(ids, pos, attn);
  Tensor<T, B> ref_logp(Shape{Bn, L});
  reference_.logprobs(ref_logp.view(), tgt, T(config_.sampling.temperature));
  copy_actions(ref_logp.cview(), r.ref_logp);
  copy_actions(value_.values(ids, pos, attn), r.values);

  const auto scoring_start = std::chrono::steady_clock::now();
  r.scores = scorer_(r);
  scoring_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - scoring_start).count();
  if (static_cast<std::int64_t>(r.scores.size()) != Bn)
    fail("PPOTrainer: the scorer gave ", r.scores.size(), " scores for ", Bn, " episodes");
  for (std::int64_t b = 0; b < Bn; ++b) {
    T& s = r.scores[std::size_t(b)];
    if (!std::isfinite(double(s))) fail("PPOTrainer: the score of episode ", b, " is ", s);
    if (config_.score_clip > 0) s = T(std::clamp(double(s), -config_.score_clip, config_.score_clip));
    if (!r.ended[std::size_t(b)]) s = T(double(s) + config_.missing_eos_penalty);
  }
  loss::per_token_rewards<T>(r.rewards.view(), r.kl.view(), r.scores, r.old_logp, r.ref_logp, r.mask, kl_.value(),
                             config_.kl_estimator);
  if (config_.whiten_rewards) loss::masked_whiten<T>(r.rewards.view(), r.rewards, r.mask, false);
  loss::gae<T>(r.advantages.view(), r.returns.view(), r.values, r.rewards, r.mask, config_.gamma, config_.lambda);
  loss::masked_whiten<T>(r.advantages.view(), r.advantages, r.mask);
  return r;
}

template <class T, Backend B>
nlohmann::json PPOTrainer<T, B>::step() {
  try {
    return iterate();
  } catch (const error& e) {
    fail("PPO iteration ", iteration_ + 1, ": ", e.what());
  }
}

template <class T, Backend B>
nlohmann::json PPOTrainer<T, B>::update() {
  if (rollout_.mask.numel() == 0) fail("PPOTrainer::update: no rollout yet (call rollout() or step() first)");
  nlohmann::json m;
  run_update(m);
  return m;
}

template <class T, Backend B>
void PPOTrainer<T, B>::save(const std::filesystem::path& dir, const io::SaveOptions& options) {
  io::save_gpt(dir / "policy", policy_, options);
  save_optimizer(dir / "policy", policy_opt_);
  io::save_reward_model(dir / "value", value_, options);
  save_optimizer(dir / "value", value_opt_);
  nlohmann::json state{{"iteration", iteration_},
                       {"kl_coef", kl_.value()},
                       {"policy_optimizer_steps", policy_opt_.steps()},
                       {"value_optimizer_steps", value_opt_.steps()},
                       {"data_epoch", prompt_sampler_.position().epoch},
                       {"data_index", prompt_sampler_.position().index},
                       {"ptx_epoch", ptx_sampler_ ? ptx_sampler_->position().epoch : 0},
                       {"ptx_index", ptx_sampler_ ? ptx_sampler_->position().index : 0},
                       {"seed", config_.seed},
                       {"train_examples", prompts_.size()}};
  write_trainer_state(dir, state);
}

template <class T, Backend B>
void PPOTrainer<T, B>::resume(const std::filesystem::path& dir) {
  const nlohmann::json state = read_trainer_state(dir,
                                                  {"iteration", "policy_optimizer_steps", "value_optimizer_steps",
                                                   "data_epoch", "data_index", "ptx_epoch", "ptx_index"},
                                                  config_.seed, prompts_.size());
  if (!state.contains("kl_coef") || !state["kl_coef"].is_number())
    fail((dir / trainer_state_file_name).string(), ": missing or non-numeric field \"kl_coef\"");
  io::load_weights(dir / "policy", policy_);
  load_optimizer(dir / "policy", policy_opt_, state["policy_optimizer_steps"].get<std::int64_t>());
  io::load_reward_weights(dir / "value", value_);
  load_optimizer(dir / "value", value_opt_, state["value_optimizer_steps"].get<std::int64_t>());
  kl_.set_value(state["kl_coef"].get<double>());
  iteration_ = state["iteration"].get<std::int64_t>();
  prompt_sampler_ =
      data::EpochSampler(all_indices(prompts_.size()), config_.seed,
                         {state["data_epoch"].get<std::int64_t>(), state["data_index"].get<std::int64_t>()});
  if (ptx_sampler_)
    ptx_sampler_.emplace(
        all_indices(std::size_t(ptx_->size())), config_.seed ^ ptx_seed_mask,
        data::DataPosition{state["ptx_epoch"].get<std::int64_t>(), state["ptx_index"].get<std::int64_t>()});
}

template <class T, Backend B>
void PPOTrainer<T, B>::train(std::int64_t iterations, MetricsLog& log, std::int64_t log_every, std::FILE* progress) {
  for (std::int64_t i = 0; i < iterations; ++i) {
    const nlohmann::json record = step();
    log.write(record);
    if (progress && (iteration_ % log_every == 0 || iteration_ == 1))
      std::fprintf(progress, "%s\n", progress_line(record).c_str()), std::fflush(progress);
  }
}

template <class T, Backend B>
std::vector<std::int64_t> PPOTrainer<T, B>::all_indices(std::size_t n) {
  std::vector<std::int64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::int64_t(i);
  return v;
}

template <class T, Backend B>
void PPOTrainer<T, B>::copy_actions(View<const T, B> full, Tensor<T, cpu>& out) const {
  const std::int64_t Bn = full.size(0), L = full.size(1);
  std::vector<T> host(static_cast<std::size_t>(full.numel()));
  bytes_to_host(policy_.backend(), host.data(), full.data(), full.bytes());
  for (std::int64_t b = 0; b < Bn; ++b)
    for (std::int64_t j = 0; j + 1 < L; ++j) out(b, j) = host[std::size_t(b * L + j)];
}

template <class T, Backend B>
nlohmann::json PPOTrainer<T, B>::iterate() {
  const auto t0 = std::chrono::steady_clock::now();
  const Rollout<T>& r = rollout();
  const auto t1 = std::chrono::steady_clock::now();
  const std::int64_t Bn = r.mask.size(0), A = r.mask.size(1);
  nlohmann::json m;
  // Rollout statistics: per-episode sums of the KL estimate, of the non-score reward.
  double kl_sum = 0, score_sum = 0, length_sum = 0, eos = 0;
  for (std::int64_t b = 0; b < Bn; ++b) {
    double k = 0;
    for (std::int64_t j = 0; j < A; ++j) k += double(r.kl(b, j));
    kl_sum += k;
    score_sum += double(r.scores[std::size_t(b)]);
    length_sum += double(r.generation.response_lengths[std::size_t(b)]);
    eos += r.ended[std::size_t(b)];
  }
  const double mean_kl = kl_sum / double(Bn);
  m["objective/kl"] = mean_kl;
  m["objective/kl_coef"] = kl_.value();
  m["objective/scores"] = score_sum / double(Bn);
  m["objective/rlhf_reward"] = score_sum / double(Bn) - kl_.value() * mean_kl;
  m["returns/mean"] = loss::masked_mean<T>(r.returns, r.mask);
  m["returns/var"] = loss::masked_var<T>(r.returns, r.mask, false);
  m["value/explained_variance"] = loss::explained_variance<T>(r.values, r.returns, r.mask);
  m["response/length"] = length_sum / double(Bn);
  m["response/eos_rate"] = eos / double(Bn);

  run_update(m);
  if (config_.adaptive_kl) kl_.update(mean_kl, Bn);
  ++iteration_;
  const auto t2 = std::chrono::steady_clock::now();
  const double gen_s = std::chrono::duration<double>(t1 - t0).count(),
               upd_s = std::chrono::duration<double>(t2 - t1).count();
  m["iteration"] = iteration_;
  m["time/generation"] = gen_s - scoring_seconds_;  // sampling, reference log-probs, values
  m["time/scoring"] = scoring_seconds_;
  m["time/update"] = upd_s;
  m["tokens/s"] = length_sum / (gen_s + upd_s);
  return m;
}

template <class T, Backend B>
void PPOTrainer<T, B>::run_update(nlohmann::json& m) {
  const Rollout<T>& r = rollout_;
  const std::int64_t Bn = r.mask.size(0);
  const std::int64_t micro = config_.micro_batch_size > 0 ? config_.micro_batch_size : config_.mini_batch_size;
  const T tau = T(config_.sampling.temperature);
  double pg_loss = 0, vf_loss = 0, clipfrac = 0, vclipfrac = 0, approxkl = 0, entropy = 0, ptx_loss = 0;
  std::int64_t minibatches = 0;
  double first_ratio_error = -1;
  bool stop = false;
  for (std::int64_t epoch = 0; epoch < config_.ppo_epochs && !stop; ++epoch) {
    const std::vector<std::int64_t> order =
        data::random_permutation(PhiloxStream{config_.seed, ppo_minibatch_stream(iteration_, epoch)}, Bn);
    for (std::int64_t m0 = 0; m0 + config_.mini_batch_size <= Bn && !stop; m0 += config_.mini_batch_size) {
      const std::span<const std::int64_t> mini(order.data() + m0, std::size_t(config_.mini_batch_size));
      double mini_tokens = 0;
      for (const std::int64_t b : mini)
        for (std::int64_t j = 0; j < r.mask.size(1); ++j) mini_tokens += double(r.mask(b, j) != T(0));
      policy_.zero_grad();
      value_.zero_grad();
      double mb_approxkl = 0;
      for (std::int64_t u0 = 0; u0 < config_.mini_batch_size; u0 += micro) {
        const auto rows = mini.subspan(std::size_t(u0), std::size_t(std::min(micro, config_.mini_batch_size - u0)));
        const MicroStats s = micro_step(rows, mini_tokens, tau, first_ratio_error < 0 ? &first_ratio_error : nullptr);
        if (!std::isfinite(s.pg_loss) || !std::isfinite(s.vf_loss))
          fail("PPOTrainer: a non-finite loss in epoch ", epoch + 1, " (policy ", s.pg_loss, ", value ", s.vf_loss,
               "); the iteration stops before that minibatch's update");
        pg_loss += s.pg_loss;
        vf_loss += s.vf_loss;
        clipfrac += s.clipfrac;
        vclipfrac += s.vclipfrac;
        approxkl += s.approxkl;
        mb_approxkl += s.approxkl;
        entropy += s.entropy;
      }
      if (config_.ptx_coef > 0) ptx_loss += ptx_step();
      optim::clip_grad_norm(policy_.backend(), policy_.gradients().view(), config_.max_grad_norm);
      optim::clip_grad_norm(value_.backend(), value_.gpt().gradients().view(), config_.max_grad_norm);
      policy_opt_.step(policy_.parameters().view(), policy_.gradients(), config_.learning_rate);
      value_opt_.step(value_.gpt().parameters().view(), value_.gpt().gradients(),
                      config_.value_learning_rate > 0 ? config_.value_learning_rate : config_.learning_rate);
      ++minibatches;
      if (config_.target_approx_kl > 0 && mb_approxkl > config_.target_approx_kl) stop = true;
    }
  }
  const double n = double(std::max<std::int64_t>(minibatches, 1));
  m["policy/loss"] = pg_loss / n;
  m["policy/clipfrac"] = clipfrac / n;
  m["policy/approxkl"] = approxkl / n;
  m["policy/first_ratio_error"] = first_ratio_error;
  m["policy/minibatches"] = minibatches;
  m["policy/early_stop"] = stop;
  m["value/loss"] = vf_loss / n;
  m["value/clipfrac"] = vclipfrac / n;
  m["objective/entropy"] = entropy / n;
  m["ptx/loss"] = ptx_loss / n;
}

template <class T, Backend B>
auto PPOTrainer<T, B>::micro_step(std::span<const std::int64_t> rows, double mini_tokens, T tau,
                                  double* first_ratio_error) -> MicroStats {
  const Rollout<T>& r = rollout_;
  const Generation<T>& g = r.generation;
  const auto n = std::int64_t(rows.size());
  const std::int64_t L = g.tokens.size(1), A = L - 1;
  const Tensor<std::int32_t, cpu> ids = gather_rows(g.tokens, rows), pos = gather_rows(g.positions, rows);
  const Tensor<std::int32_t, cpu> tgt = gather_rows(r.targets, rows);
  const Tensor<T, cpu> attn = gather_rows(g.attention_mask, rows);
  const Tensor<T, cpu> mask = gather_rows(r.mask, rows), old_logp = gather_rows(r.old_logp, rows);
  const Tensor<T, cpu> adv = gather_rows(r.advantages, rows), old_v = gather_rows(r.values, rows);
  const Tensor<T, cpu> ret = gather_rows(r.returns, rows);
  double tokens = 0;
  for (std::int64_t i = 0; i < mask.numel(); ++i) tokens += double(mask.data()[i] != T(0));
  MicroStats s;
  if (tokens == 0) return s;
  const double share = tokens / mini_tokens;
  const auto ids_b = on_backend<B>(ids.cview(), ids_s_), pos_b = on_backend<B>(pos.cview(), pos_s_);
  const auto attn_b = on_backend<B>(attn.cview(), attn_s_);
  const auto tgt_b = on_backend<B>(tgt.cview(), tgt_s_);

  // The two models' passes are independent: both always run; a small step runs them side by
  // side (run_tasks), a large one in turn with threaded kernels.
  auto policy_part = [&] {
    // Policy: log-probs (and entropy) at the temperature of the rollout.
    Tensor<T, B> logp_full(Shape{n, L}), ent_full(Shape{n, L});
    policy_.forward(ids_b, pos_b, attn_b);
    policy_.logprobs(logp_full.view(), tgt_b, tau, ent_full.view());
    Tensor<T, cpu> logp(Shape{n, A}), ent(Shape{n, A});
    copy_actions(logp_full.cview(), logp);
    copy_actions(ent_full.cview(), ent);
    if (first_ratio_error) {
      double e = 0;
      for (std::int64_t i = 0; i < logp.numel(); ++i)
        if (mask.data()[i] != T(0))
          e = std::max(e, std::abs(std::exp(double(logp.data()[i]) - double(old_logp.data()[i])) - 1));
      *first_ratio_error = e;
    }
    Tensor<T, cpu> dlogp(Shape{n, A}), dent(Shape{n, A});
    const loss::PolicyLossStats pg =
        loss::policy_loss<T>(dlogp.view(), logp, old_logp, adv, mask, config_.cliprange, share);
    s.pg_loss = pg.loss;
    s.clipfrac = pg.clipfrac * share;
    s.approxkl = pg.approxkl * share;
    s.entropy = loss::masked_mean<T>(ent, mask) * share;
    // Entropy bonus: loss −c · mean_mask H, so dL/dH = −c · share / tokens on the mask.
    for (std::int64_t i = 0; i < dent.numel(); ++i)
      dent.data()[i] = mask.data()[i] != T(0) ? T(-config_.entropy_coef * share / tokens) : T(0);
    policy_.backward_logprobs(to_full(dlogp, dlogp_s_),
                              config_.entropy_coef > 0 ? to_full(dent, dent_s_) : View<const T, B>{});
  };

  auto value_part = [&] {
    // Value model: clipped value loss, scaled by vf_coef.
    const View<const T, B> v_full = value_.values(ids_b, pos_b, attn_b);
    Tensor<T, cpu> v(Shape{n, A}), dv(Shape{n, A});
    copy_actions(v_full, v);
    const loss::ValueLossStats vf = loss::value_loss<T>(dv.view(), v, old_v, ret, mask, config_.cliprange_value, share);
    for (std::int64_t i = 0; i < dv.numel(); ++i) dv.data()[i] = T(double(dv.data()[i]) * config_.vf_coef);
    s.vf_loss = vf.loss;
    s.vclipfrac = vf.clipfrac * share;
    value_.backward_values(to_full(dv, dv_s_));
  };

  const std::int64_t C = policy_.config().n_embd;
  const std::int64_t side_by_side = row_parts(policy_.backend(), 2, n * L * 12 * C * C * 3);  // fwd + bwd of each model
  run_tasks(policy_.backend(), 2, side_by_side, [&](std::int64_t p) { p == 0 ? policy_part() : value_part(); });
  return s;
}

template <class T, Backend B>
View<const T, B> PPOTrainer<T, B>::to_full(const Tensor<T, cpu>& actions, Tensor<T, B>& staging) {
  const std::int64_t n = actions.size(0), A = actions.size(1);
  Tensor<T, cpu> full(Shape{n, A + 1});
  for (std::int64_t b = 0; b < n; ++b) {
    std::copy_n(actions.data() + b * A, A, full.data() + b * (A + 1));
    full(b, A) = T(0);
  }
  if constexpr (std::is_same_v<B, cpu>) {
    staging = std::move(full);
    return staging.cview();
  } else {
    return on_backend<B>(full.cview(), staging);
  }
}

template <class T, Backend B>
double PPOTrainer<T, B>::ptx_step() {
  std::vector<std::int64_t> idx;
  ptx_sampler_->next(config_.ptx_batch_size, idx);
  const auto& batch = ptx_batcher_.fill(std::int64_t(idx.size()),
                                        [&](std::int64_t b) { return (*ptx_)[idx[std::size_t(b)]].sequence(); });
  if (batch.loss_tokens == 0) return 0;
  Tensor<std::int32_t, B> ids_s, tgt_s;
  Tensor<T, B> key_s, loss_s;
  policy_.forward(on_backend<B>(batch.ids, ids_s), {}, on_backend<B>(batch.key_mask, key_s));
  const T l = policy_.lm_loss(on_backend<B>(batch.targets, tgt_s), on_backend<B>(batch.loss_mask, loss_s));
  if (!std::isfinite(double(l))) fail("PPOTrainer: the PPO-ptx loss is ", l);
  policy_.backward_lm_loss(T(config_.ptx_coef));
  return double(l);
}

}  // namespace rlhf::train

// Compiled mode (RLHF_COMPILED, set by the CMake target rlhf::compiled): these specializations
// are compiled once, in src/; a translation unit that includes this header calls them instead.
#if defined(RLHF_COMPILED)
#include "rlhf/backend/cpu/tag.hpp"
namespace rlhf::train {
extern template class PPOTrainer<float, cpu>;
extern template class PPOTrainer<double, cpu>;
}  // namespace rlhf::train
#endif
