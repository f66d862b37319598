#pragma once
// The loop of a trainer that counts optimizer steps (SFT, reward model): step() until max_steps;
// every eval_every steps and at the end, evaluate(record) adds the eval/ metrics to the step's
// record and on_checkpoint(step) runs (to save, for example); the record goes to the metrics log,
// with a progress line, at step 1, every log_every steps and at each evaluation.
#include <cstdint>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "rlhf/train/metrics_log.hpp"

namespace rlhf::train {

struct StepSchedule {
  std::int64_t max_steps, eval_every, log_every;
};

template <class Step, class Evaluate, class OnCheckpoint>
void run_steps(const std::int64_t& step, StepSchedule schedule, Step&& take_step, Evaluate&& evaluate, MetricsLog& log,
               OnCheckpoint&& on_checkpoint, std::FILE* progress) {
  while (step < schedule.max_steps) {
    nlohmann::json record = take_step();
    const bool eval_now = step == schedule.max_steps || (schedule.eval_every > 0 && step % schedule.eval_every == 0);
    if (eval_now) evaluate(record);
    if (eval_now || step % schedule.log_every == 0 || step == 1) {
      log.write(record);
      if (progress) std::fprintf(progress, "%s\n", progress_line(record).c_str()), std::fflush(progress);
    }
    if (eval_now) on_checkpoint(step);
  }
}

}  // namespace rlhf::train
