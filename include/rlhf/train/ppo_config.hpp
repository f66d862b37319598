#pragma once
// PPOConfig: every knob of a PPO run (train/ppo.hpp), and the checks validate() makes before
// any work (docs/math.md has the equations the knobs enter).
#include <cmath>
#include <cstdint>
#include <string_view>

#include "rlhf/core/field_names.hpp"
#include "rlhf/core/sampling.hpp"
#include "rlhf/loss/ppo.hpp"
#include "rlhf/optim/adamw.hpp"

namespace rlhf::train {

struct PPOConfig {
  // Rollout.
  std::int64_t batch_size = 16;  // episodes (prompts) per iteration
  std::int64_t max_new_tokens = 32;
  SamplingParams sampling{1.0, 0, 1.0};
  // Rewards.
  double kl_coef = 0.05;  // β (the initial β when adaptive)
  loss::KLEstimator kl_estimator = loss::KLEstimator::k1;
  bool adaptive_kl = false;
  double kl_target = 6.0, kl_horizon = 10000.0;  // Ziegler et al.'s controller
  double missing_eos_penalty = 0;                // added to the score of a response without EOS (0: none)
  double score_clip = 0;                         // clip scores to [−c, c] (0: none)
  bool whiten_rewards = false;
  // Advantages.
  double gamma = 1.0, lambda = 0.95;
  // Update.
  std::int64_t ppo_epochs = 4;
  std::int64_t mini_batch_size = 4;   // episodes per optimizer step
  std::int64_t micro_batch_size = 0;  // episodes per forward/backward; 0: the minibatch
  double cliprange = 0.2, cliprange_value = 0.2, vf_coef = 0.1, entropy_coef = 0.0;
  double max_grad_norm = 1.0;
  double learning_rate = 1e-5, value_learning_rate = 0;  // 0: learning_rate
  optim::AdamWConfig adamw{0.9, 0.95, 1e-8, 0.0};
  double target_approx_kl = 0;  // stop the iteration's update once a minibatch's approx-KL exceeds it (0: never)
  // PPO-ptx (InstructGPT eq. 2).
  double ptx_coef = 0;  // γ; 0: no pretraining term
  std::int64_t ptx_batch_size = 4;
  std::uint64_t seed = 0;

  // Errors name the fields as `names` does (core/field_names.hpp).
  void validate(const FieldNames& names = FieldNames("PPOConfig")) const {
    const auto n = [&](const auto& field, std::string_view member) { return names(&field, member); };
    sampling.validate(names);
    if (sampling.temperature == 0)
      fail(n(sampling.temperature, "temperature"), " must be > 0 for PPO (it samples; greedy decoding has no ratio)");
    require_positive(n(batch_size, "batch_size"), batch_size);
    require_positive(n(max_new_tokens, "max_new_tokens"), max_new_tokens);
    if (mini_batch_size <= 0 || mini_batch_size > batch_size || batch_size % mini_batch_size != 0)
      fail(n(mini_batch_size, "mini_batch_size"), " must divide ", n(batch_size, "batch_size"), " = ", batch_size,
           " (every episode in one minibatch per epoch), got ", mini_batch_size);
    if (micro_batch_size < 0 || micro_batch_size > mini_batch_size)
      fail(n(micro_batch_size, "micro_batch_size"), " must lie in [0, ", n(mini_batch_size, "mini_batch_size"), " = ",
           mini_batch_size, "], got ", micro_batch_size);
    require_positive(n(ppo_epochs, "ppo_epochs"), ppo_epochs);
    require_finite_non_negative(n(kl_coef, "kl_coef"), kl_coef);
    if (adaptive_kl) {
      require_positive(n(kl_target, "kl_target"), kl_target);
      require_positive(n(kl_horizon, "kl_horizon"), kl_horizon);
    }
    require_finite_non_negative(n(score_clip, "score_clip"), score_clip);
    if (!std::isfinite(missing_eos_penalty)) fail(n(missing_eos_penalty, "missing_eos_penalty"), " must be finite");
    require_within(n(gamma, "gamma"), gamma, 0.0, 1.0);
    require_within(n(lambda, "lambda"), lambda, 0.0, 1.0);
    require_positive(n(cliprange, "cliprange"), cliprange);
    require_positive(n(cliprange_value, "cliprange_value"), cliprange_value);
    require_finite_non_negative(n(vf_coef, "vf_coef"), vf_coef);
    require_finite_non_negative(n(entropy_coef, "entropy_coef"), entropy_coef);
    require_finite_non_negative(n(max_grad_norm, "max_grad_norm"), max_grad_norm);
    require_positive(n(learning_rate, "learning_rate"), learning_rate);
    require_finite_non_negative(n(value_learning_rate, "value_learning_rate"), value_learning_rate);
    adamw.validate(names);
    require_finite_non_negative(n(target_approx_kl, "target_approx_kl"), target_approx_kl);
    require_finite_non_negative(n(ptx_coef, "ptx_coef"), ptx_coef);
    if (ptx_coef > 0) require_positive(n(ptx_batch_size, "ptx_batch_size"), ptx_batch_size);
  }
};

}  // namespace rlhf::train
