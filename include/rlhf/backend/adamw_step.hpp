#pragma once
// The numbers of one AdamW step, the same for every backend's adamw_update kernel.
namespace rlhf {

struct AdamWStep {
  double lr, beta1, beta2, eps, weight_decay;
  double bias_correction1, bias_correction2;  // 1 − β^t for the step t being taken
};

}  // namespace rlhf
