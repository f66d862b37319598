#pragma once
// How a Linear layer's weight matrix is stored, for out[M, N] = a[M, K] · W:
//   in_out  W is [K, N]  (GPT-2's Conv1D: c_attn, c_proj, c_fc)
//   out_in  W is [N, K]  (torch.nn.Linear, and the LM head tied to wte [V, C])
namespace rlhf {

enum class WeightLayout { in_out, out_in };

inline const char* to_string(WeightLayout layout) { return layout == WeightLayout::in_out ? "in_out" : "out_in"; }

}  // namespace rlhf
