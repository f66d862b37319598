#pragma once
// Learning-rate schedule: linear warmup from 0 to the peak over warmup_steps, then cosine decay
// to min_lr_ratio · peak at total_steps (and flat after).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "rlhf/core/error.hpp"

namespace rlhf::optim {

struct WarmupCosine {
  double peak_lr = 3e-4;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;
  double min_lr_ratio = 0.1;

  void validate() const {
    if (!(peak_lr >= 0)) fail("WarmupCosine: peak_lr must be non-negative, got ", peak_lr);
    if (warmup_steps < 0 || total_steps <= 0 || warmup_steps > total_steps)
      fail("WarmupCosine: need 0 <= warmup_steps <= total_steps and total_steps > 0, got warmup_steps = ", warmup_steps,
           ", total_steps = ", total_steps);
    if (!(min_lr_ratio >= 0 && min_lr_ratio <= 1))
      fail("WarmupCosine: min_lr_ratio must lie in [0, 1], got ", min_lr_ratio);
  }

  // The learning rate of step `step` (0-based: the first optimizer step is step 0).
  double operator()(std::int64_t step) const {
    if (step < warmup_steps) return peak_lr * double(step + 1) / double(warmup_steps);
    const std::int64_t decay_steps = total_steps - warmup_steps;
    if (decay_steps <= 0) return peak_lr;
    const double progress = std::min(1.0, double(step - warmup_steps) / double(decay_steps));
    const double cosine = 0.5 * (1 + std::cos(3.14159265358979323846 * progress));
    return peak_lr * (min_lr_ratio + (1 - min_lr_ratio) * cosine);
  }
};

}  // namespace rlhf::optim
