#pragma once
// The loop of a trainer that counts optimizer steps (SFT, reward model): step() until max_steps;
// every eval_every steps and at the end, evaluate(record) adds the eval/ metrics to the step's
// record and on_checkpoint(step) runs (to save, for example); the record goes to the metrics log,
// with a progress line, at step 1, every log_every steps and at each evaluation. After every
// step, stop() is asked whether to stop early (the CLI's Ctrl-C): if so, on_checkpoint(step)
// runs and the loop returns false, so that a resumed run continues from that step.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rlhf/core/field_names.hpp"
#include "rlhf/optim/adamw.hpp"
#include "rlhf/optim/schedule.hpp"
#include "rlhf/train/metrics_log.hpp"

namespace rlhf::train {

struct StepSchedule {
  std::int64_t max_steps, eval_every, log_every;
};

// What a trainer that counts optimizer steps is configured with, whatever it trains: the step
// count, the learning-rate schedule, the optimizer, clipping, the evaluation/log cadence and the
// seed. SFTConfig and RewardConfig are this plus their own fields (and their own defaults).
struct StepLoopConfig {
  std::int64_t max_steps = 1000;
  double learning_rate = 3e-4;
  std::int64_t warmup_steps = 50;
  double min_lr_ratio = 0.1;
  optim::AdamWConfig adamw{0.9, 0.95, 1e-8, 0.1};
  double max_grad_norm = 1.0;  // 0: no clipping
  std::int64_t log_every = 10;
  std::int64_t eval_every = 100;  // 0: evaluate only at the end
  std::uint64_t seed = 0;

  // Linear warmup, then cosine decay to min_lr_ratio × learning_rate at max_steps.
  optim::WarmupCosine schedule() const {
    return {learning_rate, std::min(warmup_steps, max_steps), max_steps, min_lr_ratio};
  }
};

// The checks of the fields of StepLoopConfig; errors name them as `names` does.
inline void validate_step_options(const StepLoopConfig& c, const FieldNames& names) {
  const auto n = [&](const auto& field, std::string_view member) { return names(&field, member); };
  require_within<std::int64_t>(n(c.max_steps, "max_steps"), c.max_steps, 1, 1'000'000'000);
  require_positive(n(c.learning_rate, "learning_rate"), c.learning_rate);
  if (c.warmup_steps < 0) fail(n(c.warmup_steps, "warmup_steps"), " must be >= 0, got ", c.warmup_steps);
  require_within(n(c.min_lr_ratio, "min_lr_ratio"), c.min_lr_ratio, 0.0, 1.0);
  c.adamw.validate(names);
  require_finite_non_negative(n(c.max_grad_norm, "max_grad_norm"), c.max_grad_norm);
  require_positive(n(c.log_every, "log_every"), c.log_every);
  if (c.eval_every < 0) fail(n(c.eval_every, "eval_every"), " must be >= 0, got ", c.eval_every);
}

// Asked between steps; true stops the run after a checkpoint. Empty: never stop.
using StopRequested = std::function<bool()>;

// Returns true when max_steps was reached, false when stop() ended the run first.
template <class Step, class Evaluate, class OnCheckpoint>
bool run_steps(const std::int64_t& step, StepSchedule schedule, Step&& take_step, Evaluate&& evaluate, MetricsLog& log,
               OnCheckpoint&& on_checkpoint, std::FILE* progress, const StopRequested& stop = {}) {
  while (step < schedule.max_steps) {
    nlohmann::json record = take_step();
    const bool eval_now = step == schedule.max_steps || (schedule.eval_every > 0 && step % schedule.eval_every == 0);
    if (eval_now) evaluate(record);
    if (eval_now || step % schedule.log_every == 0 || step == 1) {
      log.write(record);
      if (progress) std::fprintf(progress, "%s\n", progress_line(record).c_str()), std::fflush(progress);
    }
    const bool stopping = step < schedule.max_steps && stop && stop();
    if (eval_now || stopping) on_checkpoint(step);
    if (stopping) return false;
  }
  return true;
}

}  // namespace rlhf::train
